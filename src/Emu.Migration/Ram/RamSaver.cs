using System.Diagnostics;
using System.Text;
using Emu.Machine.Memory;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.Migration.Ram;

/// <summary>
/// The source side of the "ram" section (ram.c's SaveVMHandlers): <see cref="Setup"/> (ram_save_setup),
/// <see cref="Iterate"/> (ram_save_iterate), <see cref="Complete"/> (ram_save_complete), pending
/// (ram_state_pending_estimate / _exact) and <see cref="Cleanup"/>. It owns the migration bitmap of each block
/// (one bit per 4 KiB page, QEMU block->bmap), filled from the dirty log by <see cref="BitmapSync"/>, and the scan
/// cursor that makes each call resume where the last one stopped.
/// </summary>
/// <remarks>
/// Threads: the migration thread calls everything; QMP reads the counters. The bitmaps, the dirty count and the
/// cursor are guarded by one lock (QEMU bitmap_mutex) so postcopy's page requests can share them.
/// </remarks>
public sealed partial class RamSaver
{
    public const string SectionName = "ram";

    /// <summary>The "ram" section version (register_savevm_live(..., "ram", 0, 4, ...)).</summary>
    public const int SectionVersion = 4;

    /// <summary>QEMU MAX_WAIT: one iterate call runs at most this long (checked every 64 pages).</summary>
    public const int MaxWaitMs = 50;

    /// <summary>A sync period lasts at least this long before rates and auto-converge are evaluated.</summary>
    public const int SyncPeriodMs = 1000;

    internal const int PageSize = RamBlock.PageSize;

    private readonly RamBlock[] _blocks;
    private readonly ulong[][] _bmaps;
    private readonly byte[][] _idStrs;
    private readonly MigrationStats _stats;
    private readonly AutoConverge? _autoConverge;
    private readonly Func<long> _nowMs;
    private readonly Action<long>? _onPass;
    private readonly object _bitmapLock = new();
    private readonly long _totalPages;

    private MigrationStream? _stream;

    // Pages the host never populated (HostPageMap), read as the first lap reaches them; null after the first lap.
    private FirstLapZeroMap? _firstLapUnpopulated;
    private long _dirtyPages;
    private bool _loggingStarted;

    // QEMU RAMState sync-period fields.
    private long _timeLastBitmapSyncMs;
    private long _numDirtyPagesPeriod;
    private long _bytesXferPrev;

    public RamSaver(IReadOnlyList<RamBlock> blocks, MigrationStats stats, AutoConverge? autoConverge, Action<long>? onPass = null, Func<long>? nowMs = null)
    {
        _blocks = [.. blocks];
        _bmaps = new ulong[_blocks.Length][];
        _idStrs = new byte[_blocks.Length][];
        for (int i = 0; i < _blocks.Length; i++)
        {
            _bmaps[i] = new ulong[(_blocks[i].PageCount + 63) / 64];
            _idStrs[i] = Encoding.ASCII.GetBytes(_blocks[i].IdStr);
            _totalPages += _blocks[i].PageCount;
        }

        _stats = stats;
        _autoConverge = autoConverge;
        _onPass = onPass;
        _nowMs = nowMs ?? (() => MonotonicClock.NowMs);
    }

    /// <summary>Which byte counter RAM records are charged to.</summary>
    public RamPhase Phase { get; set; } = RamPhase.Precopy;

    /// <summary>QEMU ram_bytes_total.</summary>
    public long TotalBytes => _totalPages * PageSize;

    /// <summary>QEMU migration_dirty_pages: set bits in all migration bitmaps.</summary>
    public long DirtyPages => Volatile.Read(ref _dirtyPages);

    /// <summary>QEMU ram_bytes_remaining.</summary>
    public long RemainingBytes => DirtyPages * PageSize;

    internal IReadOnlyList<RamBlock> Blocks => _blocks;

    /// <summary>How long the last <see cref="BitmapSync"/> took to take the dirty log (for the switchover profile).</summary>
    public double LastSyncMs { get; private set; }

    /// <summary>
    /// QEMU ram_save_setup: every page dirty, dirty logging on, one immediate sync, then the MEM_SIZE block list
    /// and EOS.
    /// </summary>
    public void Setup(MigrationStream s)
    {
        _stream = s;
        lock (_bitmapLock)
        {
            for (int i = 0; i < _blocks.Length; i++)
            {
                SetAll(_bmaps[i], _blocks[i].PageCount);
                _blocks[i].DirtyLog.Enable(DirtyClient.Migration, allDirty: true);
            }

            _loggingStarted = true;
            Volatile.Write(ref _dirtyPages, _totalPages);
            ResetCursor();
        }

        _stats.TotalRamBytes = TotalBytes;
        BitmapSync();

        // After the sync above, every guest write is in the dirty log again: a page still unpopulated when the map
        // is read and written later is sent again, so the map may stay stale for the first lap.
        EndFirstLap();
        _firstLapUnpopulated = FirstLapZeroMap.Open(_blocks);

        long start = s.Position;
        s.WriteU64((ulong)TotalBytes | (ulong)RamSaveFlags.MemSize);
        for (int i = 0; i < _blocks.Length; i++)
        {
            s.WriteU8((byte)_idStrs[i].Length);
            s.WriteBytes(_idStrs[i]);
            s.WriteU64(_blocks[i].SizeBytes);
        }

        _stats.AddRamBytes(Phase, s.Position - start);

        // Every channel's first packet is a sync: the destination places no multifd page before the block list. Not
        // waited for here: the channel threads may still be starting.
        SendMultifdFlush(s, waitForChannels: false);
        s.WriteU64((ulong)RamSaveFlags.Eos);
        _stats.AddRamBytes(Phase, 8);
    }

    /// <summary>
    /// QEMU ram_save_iterate: sends dirty pages while the rate budget lasts, at most <see cref="MaxWaitMs"/>, then
    /// EOS. Returns true when nothing dirty was left (one full lap found no dirty page).
    /// </summary>
    public bool Iterate(MigrationStream s)
    {
        bool done = false;
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; !s.RateLimitExceeded; i++)
        {
            int pages = FindAndSaveBlock(s);
            if (pages == 0)
            {
                done = true;
                break;
            }

            if ((i & 63) == 0 && Stopwatch.GetElapsedTime(t0).TotalMilliseconds > MaxWaitMs)
            {
                break;
            }
        }

        s.WriteU64((ulong)RamSaveFlags.Eos);
        _stats.AddRamBytes(Phase, 8);
        return done;
    }

    /// <summary>
    /// QEMU ram_save_complete: with the VM stopped (or in postcopy) send everything still dirty, ignoring the rate
    /// limit, then EOS. Outside postcopy a final sync picks up the last writes first.
    /// </summary>
    public void Complete(MigrationStream s)
    {
        // Nothing is sent after this: a page written since the first lap began must not pass for unpopulated.
        EndFirstLap();
        if (Phase != RamPhase.Postcopy)
        {
            BitmapSync();
        }

        while (FindAndSaveBlock(s) != 0)
        {
        }

        SendMultifdFlush(s);
        s.WriteU64((ulong)RamSaveFlags.Eos);
        _stats.AddRamBytes(Phase, 8);
        _stats.RemainingBytes = RemainingBytes;
    }

    /// <summary>QEMU ram_state_pending_estimate: the dirty bytes known now, no sync.</summary>
    public long PendingEstimate() => RemainingBytes;

    /// <summary>QEMU ram_state_pending_exact: a fresh bitmap sync (not in postcopy), then the dirty bytes.</summary>
    public long PendingExact()
    {
        if (Phase != RamPhase.Postcopy)
        {
            BitmapSync();
        }

        return RemainingBytes;
    }

    /// <summary>QEMU ram_save_cleanup: stop dirty logging for migration and free the XBZRLE cache.</summary>
    public void Cleanup()
    {
        lock (_bitmapLock)
        {
            if (_loggingStarted)
            {
                foreach (RamBlock b in _blocks)
                {
                    b.DirtyLog.Disable(DirtyClient.Migration);
                }

                _loggingStarted = false;
            }
        }

        DisableXbzrle();
        EndFirstLap();
    }

    /// <summary>Pages the last sync found newly dirty (written since the sync before).</summary>
    public long LastSyncDirtiedPages { get; private set; }

    /// <summary>
    /// QEMU migration_bitmap_sync: takes each block's dirty log into its migration bitmap, counts the newly dirty
    /// pages, and when a ≥1 s period has closed, evaluates auto-converge and the dirty page rate. Emits the pass.
    /// </summary>
    public void BitmapSync()
    {
        long t0 = Stopwatch.GetTimestamp();
        _stats.AddDirtySync();
        if (_timeLastBitmapSyncMs == 0)
        {
            _timeLastBitmapSyncMs = _nowMs();
        }

        LastSyncDirtiedPages = TakeDirtyLog();
        LastSyncMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        long end = _nowMs();
        if (end > _timeLastBitmapSyncMs + SyncPeriodMs)
        {
            long transferred = _stream?.Position ?? 0;
            bool braked = _autoConverge?.OnPeriodEnd((ulong)(transferred - _bytesXferPrev), (ulong)_numDirtyPagesPeriod * PageSize) ?? false;
            UpdateXbzrleRates();
            _stats.DirtyPagesRate = _numDirtyPagesPeriod * 1000 / (end - _timeLastBitmapSyncMs);
            _timeLastBitmapSyncMs = end;
            _numDirtyPagesPeriod = 0;
            _bytesXferPrev = transferred;
            if (braked && _autoConverge!.BrakesByDirtyLimit)
            {
                // A vCPU running free re-dirties its whole working set in milliseconds, and it ran free from the take
                // above until the limit held it. Take again, so those pages go with this pass instead of making the
                // next sync find a full pass's worth and cost a pass of their own.
                LastSyncDirtiedPages += TakeDirtyLog();
            }
        }

        _onPass?.Invoke(_stats.DirtySyncCount);
    }

    /// <summary>Takes every block's dirty log into the migration bitmaps; returns the pages that became dirty there.</summary>
    private long TakeDirtyLog()
    {
        lock (_bitmapLock)
        {
            long fresh = 0;
            for (int i = 0; i < _blocks.Length; i++)
            {
                fresh += _blocks[i].DirtyLog.Sync(DirtyClient.Migration, _bmaps[i]);
            }

            Volatile.Write(ref _dirtyPages, _dirtyPages + fresh);
            _numDirtyPagesPeriod += fresh;
            _stats.DirtyBytesLastSync = RemainingBytes;
            _stats.RemainingBytes = RemainingBytes;
            return fresh;
        }
    }

    private static void SetAll(ulong[] bm, int pageCount)
    {
        Array.Fill(bm, ulong.MaxValue);
        int tail = pageCount & 63;
        if (tail != 0)
        {
            bm[^1] = (1UL << tail) - 1;
        }
    }
}
