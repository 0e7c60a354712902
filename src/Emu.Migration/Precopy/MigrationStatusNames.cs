namespace Emu.Migration.Precopy;

/// <summary>The one mapping between <see cref="MigrationStatus"/> and QEMU's QMP status names, plus its predicates.</summary>
public static class MigrationStatusNames
{
    private static readonly string[] Names =
    [
        "none", "setup", "cancelling", "cancelled", "active", "postcopy-active", "postcopy-paused",
        "postcopy-recover", "completed", "failed", "pre-switchover", "device",
    ];

    public static string ToQmp(this MigrationStatus s) => Names[(int)s];

    public static bool TryParse(string name, out MigrationStatus status)
    {
        int i = Array.IndexOf(Names, name);
        status = i < 0 ? MigrationStatus.None : (MigrationStatus)i;
        return i >= 0;
    }

    /// <summary>QEMU migration_is_running.</summary>
    public static bool IsRunning(this MigrationStatus s) => s is MigrationStatus.Setup or MigrationStatus.Active
        or MigrationStatus.PreSwitchover or MigrationStatus.Device or MigrationStatus.PostcopyActive
        or MigrationStatus.PostcopyPaused or MigrationStatus.PostcopyRecover or MigrationStatus.Cancelling;

    /// <summary>QEMU migration_is_idle.</summary>
    public static bool IsIdle(this MigrationStatus s) => s is MigrationStatus.None or MigrationStatus.Completed
        or MigrationStatus.Failed or MigrationStatus.Cancelled;

    /// <summary>QEMU migration_in_postcopy.</summary>
    public static bool IsPostcopy(this MigrationStatus s) => s is MigrationStatus.PostcopyActive
        or MigrationStatus.PostcopyPaused or MigrationStatus.PostcopyRecover;
}
