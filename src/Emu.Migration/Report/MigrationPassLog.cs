namespace Emu.Migration.Report;

/// <summary>The passes of one outgoing migration, in order; written by the migration thread, read by any.</summary>
public sealed class MigrationPassLog
{
    private readonly List<MigrationPass> _passes = [];

    public void Add(MigrationPass pass)
    {
        lock (_passes)
        {
            _passes.Add(pass);
        }
    }

    public IReadOnlyList<MigrationPass> Snapshot()
    {
        lock (_passes)
        {
            return [.. _passes];
        }
    }

    /// <summary>The record of the pass just synced, from the migration's counters.</summary>
    internal static MigrationPass Take(long pass, MigrationStats stats, long dirtiedPages, int throttlePercent, long nowMs) => new(
        pass,
        nowMs - stats.StartTimeMs,
        stats.NormalPages,
        stats.ZeroPages,
        stats.Xbzrle.Pages,
        dirtiedPages,
        stats.RemainingBytes,
        stats.TransferredBytes,
        throttlePercent,
        stats.Mbps,
        stats.ExpectedDowntimeMs);
}
