namespace Emu.Monitor.Events;

/// <summary>
/// QEMU's ShutdownCause, in QEMU's order: the causes from <see cref="GuestShutdown"/> on were requested by the
/// guest (SHUTDOWN and RESET report <c>"guest": true</c> for them, as shutdown_caused_by_guest).
/// </summary>
public enum ShutdownCause
{
    None,
    HostError,
    HostQmpQuit,
    HostQmpSystemReset,
    HostSignal,
    HostUi,
    GuestShutdown,
    GuestReset,
    GuestPanic,
    SubsystemReset,
}
