using System.Diagnostics;
using Emu.Machine.Board;
using Emu.Machine.DirtyRate;
using Emu.Machine.Memory;

namespace Emu.Migration.DirtyRate;

/// <summary>
/// calc-dirty-rate and query-dirty-rate (QEMU migration/dirtyrate.c): measures how fast the guest dirties memory
/// over a window, on a thread of its own ("get_dirtyrate"), in one of three ways (<see cref="DirtyRateMeasureMode"/>).
/// Rates are MiB/s, as QEMU's. Refusals are <see cref="MigrationException"/> with QEMU 8.2's texts.
/// </summary>
public sealed class DirtyRateCalculation(IMigratableMachine machine)
{
    /// <summary>QEMU MIN_CALC_TIME_MS / MAX_CALC_TIME_MS.</summary>
    public const long MinCalcTimeMs = 50, MaxCalcTimeMs = 60_000;

    /// <summary>QEMU MIN_SAMPLE_PAGE_COUNT / MAX_SAMPLE_PAGE_COUNT / DIRTYRATE_DEFAULT_SAMPLE_PAGES, pages per GiB.</summary>
    public const long MinSamplePages = 128, MaxSamplePages = 16384, DefaultSamplePages = 512;

    /// <summary>QEMU MIN_RAMBLOCK_SIZE: page sampling skips smaller blocks.</summary>
    public const ulong MinSampledBlockBytes = 128 << 10;

    private readonly object _lock = new();
    private DirtyRateInfo _info = new(DirtyRateStatus.Unstarted, 0, 0, 0, DirtyRateMeasureMode.PageSampling, null, null);

    public DirtyRateInfo Info
    {
        get
        {
            lock (_lock)
            {
                return _info;
            }
        }
    }

    /// <summary>QEMU qmp_calc_dirty_rate: checks the arguments in QEMU's order, then starts measuring.</summary>
    public void Start(long calcTime, DirtyRateTimeUnit unit, long? samplePages, DirtyRateMeasureMode mode)
    {
        lock (_lock)
        {
            if (_info.Status == DirtyRateStatus.Measuring)
            {
                throw new MigrationException("the dirty rate is already being measured.");
            }

            long calcTimeMs = unit == DirtyRateTimeUnit.Second ? SecondsToMs(calcTime) : calcTime;
            if (calcTimeMs is < MinCalcTimeMs or > MaxCalcTimeMs)
            {
                throw new MigrationException($"Calculation time is out of range [{MinCalcTimeMs}ms, {MaxCalcTimeMs}ms].");
            }

            if (samplePages != null && mode != DirtyRateMeasureMode.PageSampling)
            {
                throw new MigrationException("sample-pages is used only in page-sampling mode");
            }

            if (samplePages is < MinSamplePages or > MaxSamplePages)
            {
                throw new MigrationException($"sample-pages is out of range[{MinSamplePages}, {MaxSamplePages}].");
            }

            // QEMU 8.2 start-time: host wall clock, seconds.
            long startTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            long pages = samplePages ?? DefaultSamplePages;
            _info = new DirtyRateInfo(DirtyRateStatus.Measuring, startTime, calcTimeMs, pages, mode, null, null);
            new Thread(() => Measure(calcTimeMs, pages, mode)) { Name = "get_dirtyrate", IsBackground = true }.Start();
        }
    }

    /// <summary>A seconds count that overflows in milliseconds lands out of range (QEMU lets it wrap).</summary>
    private static long SecondsToMs(long seconds) => seconds is > long.MaxValue / 1000 or < long.MinValue / 1000 ? long.MaxValue : seconds * 1000;

    private void Measure(long calcTimeMs, long samplePages, DirtyRateMeasureMode mode)
    {
        (long rate, long elapsedMs, IReadOnlyList<long>? vcpus) = mode switch
        {
            DirtyRateMeasureMode.DirtyRing => MeasureDirtyRing(calcTimeMs),
            DirtyRateMeasureMode.DirtyBitmap => MeasureDirtyBitmap(calcTimeMs),
            _ => MeasurePageSampling(calcTimeMs, samplePages),
        };

        lock (_lock)
        {
            // As QEMU: sample-pages reads 0 when page sampling was not used.
            _info = _info with
            {
                Status = DirtyRateStatus.Measured,
                CalcTimeMs = elapsedMs,
                SamplePages = mode == DirtyRateMeasureMode.PageSampling ? samplePages : 0,
                DirtyRateMbPerSec = rate,
                VcpuDirtyRatesMbPerSec = vcpus,
            };
        }
    }

    /// <summary>QEMU calculate_dirtyrate_dirty_ring: each vCPU's newly dirtied pages over the window.</summary>
    private (long, long, IReadOnlyList<long>?) MeasureDirtyRing(long calcTimeMs)
    {
        DirtyLimitState limits = machine.DirtyLimit;
        limits.Tracker.Start(DirtyTrackingReasons.Measure);
        try
        {
            var start = new long[limits.Vcpus.Count];
            for (int i = 0; i < start.Length; i++)
            {
                start[i] = limits.Vcpus[i].DirtyPages;
            }

            long elapsedMs = Wait(calcTimeMs);
            var rates = new long[start.Length];
            for (int i = 0; i < rates.Length; i++)
            {
                rates[i] = VcpuDirtyQuota.RateMbPerSec(limits.Vcpus[i].DirtyPages - start[i], elapsedMs);
            }

            return (rates.Sum(), elapsedMs, rates);
        }
        finally
        {
            limits.Tracker.Stop(DirtyTrackingReasons.Measure);
        }
    }

    /// <summary>QEMU calculate_dirtyrate_dirty_bitmap: the pages any writer dirtied over the window.</summary>
    private (long, long, IReadOnlyList<long>?) MeasureDirtyBitmap(long calcTimeMs)
    {
        DirtyRateTracker tracker = machine.DirtyLimit.Tracker;
        tracker.Start(DirtyTrackingReasons.Measure);
        try
        {
            long start = tracker.Harvest();
            long elapsedMs = Wait(calcTimeMs);
            return (VcpuDirtyQuota.RateMbPerSec(tracker.Harvest() - start, elapsedMs), elapsedMs, null);
        }
        finally
        {
            tracker.Stop(DirtyTrackingReasons.Measure);
        }
    }

    /// <summary>
    /// QEMU calculate_dirtyrate_sample_vm: hash <paramref name="samplePagesPerGib"/> random pages per GiB of each
    /// block of at least <see cref="MinSampledBlockBytes"/>, wait, hash them again, and scale the share that changed
    /// to the size of those blocks. A page written back to its old bytes counts as clean, as in QEMU.
    /// </summary>
    private (long, long, IReadOnlyList<long>?) MeasurePageSampling(long calcTimeMs, long samplePagesPerGib)
    {
        var blocks = machine.RamBlocks.Where(b => b.SizeBytes >= MinSampledBlockBytes).ToArray();
        var samples = new (RamBlock Block, int Page, int Hash)[blocks.Sum(b => SampleCount(b, samplePagesPerGib))];
        long totalMib = 0;
        int n = 0;
        foreach (RamBlock b in blocks)
        {
            totalMib += (long)(b.SizeBytes >> 20);
            for (int i = 0, count = SampleCount(b, samplePagesPerGib); i < count; i++)
            {
                int page = Random.Shared.Next(Math.Max(1, b.PageCount - 1));
                samples[n++] = (b, page, PageHash(b, page));
            }
        }

        long elapsedMs = Wait(calcTimeMs);
        if (samples.Length == 0)
        {
            return (0, elapsedMs, null);
        }

        long dirty = samples.Count(s => PageHash(s.Block, s.Page) != s.Hash);
        return (dirty * totalMib * 1000 / (samples.Length * elapsedMs), elapsedMs, null);
    }

    /// <summary>QEMU get_ramblock_dirty_info: sample pages for a block, by its size in GiB.</summary>
    private static int SampleCount(RamBlock b, long samplePagesPerGib) => (int)((b.SizeBytes * (ulong)samplePagesPerGib) >> 30);

    private static int PageHash(RamBlock b, int page)
    {
        var h = new HashCode();
        h.AddBytes(b.Page(page));
        return h.ToHashCode();
    }

    /// <summary>QEMU dirty_stat_wait: sleeps out the window; returns how long it really lasted.</summary>
    private static long Wait(long calcTimeMs)
    {
        long t0 = Stopwatch.GetTimestamp();
        Thread.Sleep((int)calcTimeMs);
        return Math.Max(calcTimeMs, (long)Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
    }
}
