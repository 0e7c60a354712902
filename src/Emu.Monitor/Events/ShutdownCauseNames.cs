namespace Emu.Monitor.Events;

/// <summary>The QMP names of <see cref="ShutdownCause"/> ("host-qmp-quit", "guest-shutdown", …).</summary>
public static class ShutdownCauseNames
{
    private static readonly string[] Names =
    [
        "none", "host-error", "host-qmp-quit", "host-qmp-system-reset", "host-signal", "host-ui",
        "guest-shutdown", "guest-reset", "guest-panic", "subsystem-reset",
    ];

    public static string ToQmp(this ShutdownCause cause) => Names[(int)cause];

    public static bool TryParse(string name, out ShutdownCause cause)
    {
        int i = Array.IndexOf(Names, name);
        cause = i < 0 ? ShutdownCause.None : (ShutdownCause)i;
        return i >= 0;
    }

    /// <summary>QEMU shutdown_caused_by_guest (subsystem-reset counts as the guest's, as in QEMU).</summary>
    public static bool IsGuest(this ShutdownCause cause) => cause >= ShutdownCause.GuestShutdown;
}
