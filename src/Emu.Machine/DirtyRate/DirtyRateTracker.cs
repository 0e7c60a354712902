using Emu.Machine.Memory;

namespace Emu.Machine.DirtyRate;

/// <summary>
/// The machine-wide side of dirty-rate tracking (the part of QEMU's global dirty log that dirty-limit and
/// calc-dirty-rate start): turns the <see cref="DirtyClient.DirtyRate"/> client on in every RAM block while some
/// <see cref="DirtyTrackingReasons"/> holds, and harvests it. A harvest clears the bits, so the next store to each
/// page is charged again; it also counts the pages every writer dirtied (vCPUs and devices alike), QEMU's
/// total_dirty_pages, which calc-dirty-rate's dirty-bitmap mode reads.
/// </summary>
/// <remarks>Thread-safe: QMP, the migration thread and the vCPU thread (period ends) call in.</remarks>
public sealed class DirtyRateTracker(IReadOnlyList<RamBlock> blocks)
{
    private readonly object _lock = new();
    private DirtyTrackingReasons _reasons;
    private long _harvestedPages;
    private int _generation;
    private volatile bool _tracking;

    /// <summary>True while some reason holds. Read by the vCPU at each safe point; one load when off.</summary>
    public bool IsTracking => _tracking;

    /// <summary>
    /// Counts the times tracking started from off, so a vCPU starts a fresh period instead of charging the pages of
    /// an earlier tracking run to this one.
    /// </summary>
    public int Generation => Volatile.Read(ref _generation);

    public DirtyTrackingReasons Reasons
    {
        get
        {
            lock (_lock)
            {
                return _reasons;
            }
        }
    }

    /// <summary>
    /// Pages harvested since the machine started, all writers: grows at every <see cref="Harvest"/>, never reset
    /// (QEMU total_dirty_pages).
    /// </summary>
    public long HarvestedPages => Volatile.Read(ref _harvestedPages);

    public void Start(DirtyTrackingReasons reason)
    {
        lock (_lock)
        {
            if (_reasons == DirtyTrackingReasons.None)
            {
                foreach (RamBlock b in blocks)
                {
                    // Nothing counts as dirty yet: only stores from now on are charged.
                    b.DirtyLog.Enable(DirtyClient.DirtyRate, allDirty: false);
                }

                Interlocked.Increment(ref _generation);
                _tracking = true;
            }

            _reasons |= reason;
        }
    }

    public void Stop(DirtyTrackingReasons reason)
    {
        lock (_lock)
        {
            if (_reasons == DirtyTrackingReasons.None)
            {
                return;
            }

            _reasons &= ~reason;
            if (_reasons == DirtyTrackingReasons.None)
            {
                _tracking = false;
                foreach (RamBlock b in blocks)
                {
                    b.DirtyLog.Disable(DirtyClient.DirtyRate);
                }
            }
        }
    }

    /// <summary>
    /// Takes the dirty-rate bits of every block (QEMU's dirty-ring reset), adds them to
    /// <see cref="HarvestedPages"/> and returns the new total.
    /// </summary>
    public long Harvest()
    {
        lock (_lock)
        {
            if (_tracking)
            {
                long taken = 0;
                foreach (RamBlock b in blocks)
                {
                    taken += b.DirtyLog.Harvest(DirtyClient.DirtyRate);
                }

                Volatile.Write(ref _harvestedPages, _harvestedPages + taken);
            }

            return _harvestedPages;
        }
    }
}
