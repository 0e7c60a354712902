namespace Emu.Migration.Precopy;

/// <summary>
/// The migration status with QEMU's migrate_set_state semantics: a change happens only by compare-and-swap from
/// the expected state, so a completion racing a cancel loses and the cancel wins. Only transitions in the table
/// (see <see cref="MigrationStatus"/>) are legal; asking for another is a bug and throws. Every change is
/// reported (the MIGRATION event) except the silent reset to none that starts a new migration, as QEMU's
/// qmp_migrate assigns it directly. Changes are reported in the order they happened: a cancel that lands while the
/// migration thread reports active waits until that report is out, so no client sees cancelling before active.
/// </summary>
public sealed class MigrationStateMachine(Action<MigrationStatus>? changed = null)
{
    private static readonly bool[,] Legal = BuildTable();

    private readonly object _reportOrder = new();
    private int _state;

    public MigrationStatus Current => (MigrationStatus)Volatile.Read(ref _state);

    public static bool IsLegal(MigrationStatus from, MigrationStatus to) => Legal[(int)from, (int)to];

    /// <summary>QEMU migrate_set_state: from → to if the state is still <paramref name="from"/>.</summary>
    public bool TrySet(MigrationStatus from, MigrationStatus to)
    {
        if (!IsLegal(from, to))
        {
            throw new InvalidOperationException($"migration: illegal status transition {from.ToQmp()} -> {to.ToQmp()}");
        }

        lock (_reportOrder)
        {
            if (Interlocked.CompareExchange(ref _state, (int)to, (int)from) != (int)from)
            {
                return false;
            }

            if (to != MigrationStatus.None)
            {
                changed?.Invoke(to);
            }
        }

        return true;
    }

    private static bool[,] BuildTable()
    {
        int n = Enum.GetValues<MigrationStatus>().Length;
        var t = new bool[n, n];
        void Allow(MigrationStatus from, params MigrationStatus[] tos)
        {
            foreach (MigrationStatus to in tos)
            {
                t[(int)from, (int)to] = true;
            }
        }

        Allow(MigrationStatus.None, MigrationStatus.Setup);
        Allow(MigrationStatus.Setup, MigrationStatus.Active, MigrationStatus.Failed, MigrationStatus.Cancelling);
        Allow(MigrationStatus.Active, MigrationStatus.PreSwitchover, MigrationStatus.PostcopyActive, MigrationStatus.Completed,
            MigrationStatus.Failed, MigrationStatus.Cancelling);
        Allow(MigrationStatus.PreSwitchover, MigrationStatus.Device, MigrationStatus.PostcopyActive, MigrationStatus.Failed,
            MigrationStatus.Cancelling);
        Allow(MigrationStatus.Device, MigrationStatus.Completed, MigrationStatus.Failed, MigrationStatus.Cancelling);
        // No cancel after the postcopy switch (QEMU qmp_migrate_cancel): the guest lives on the destination.
        Allow(MigrationStatus.PostcopyActive, MigrationStatus.PostcopyPaused, MigrationStatus.Completed, MigrationStatus.Failed);
        Allow(MigrationStatus.PostcopyPaused, MigrationStatus.PostcopyRecover, MigrationStatus.Failed);
        Allow(MigrationStatus.PostcopyRecover, MigrationStatus.PostcopyActive, MigrationStatus.PostcopyPaused, MigrationStatus.Failed);
        Allow(MigrationStatus.Cancelling, MigrationStatus.Cancelled);
        Allow(MigrationStatus.Completed, MigrationStatus.None);
        Allow(MigrationStatus.Failed, MigrationStatus.None);
        Allow(MigrationStatus.Cancelled, MigrationStatus.None);
        return t;
    }
}
