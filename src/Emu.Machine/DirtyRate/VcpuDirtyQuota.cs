using System.Diagnostics;
using Emu.Machine.Memory;

namespace Emu.Machine.DirtyRate;

/// <summary>
/// One vCPU's dirty pages and its dirty-page limit (QEMU CPUState.dirty_pages and dirtylimit's per-vCPU throttle),
/// made exact. The write barrier charges this vCPU each page it newly dirties (its first store to the page since the
/// last <see cref="DirtyRateTracker.Harvest"/>). With a limit, the quota is the limit's pages per period; the store
/// that spends it asks the CPU to leave its run loop, and at that safe point <see cref="OnSafePoint"/> tells the vCPU
/// to wait for the period's end. QEMU estimates each vCPU's rate from KVM's dirty ring once a period and adjusts a
/// sleep per ring-full exit; here every page is counted when it is dirtied, so no vCPU can outrun its quota by more
/// than the block in flight, and that overshoot is charged to the next period.
/// </summary>
/// <remarks>
/// Threads: the vCPU thread charges (<see cref="ChargeCurrentThread"/>) and calls <see cref="OnSafePoint"/>, which
/// ends periods; QMP and the migration thread set the limit and read the figures. Values the vCPU writes are
/// published with Volatile; the limit is written by the others and read by the vCPU the same way.
/// </remarks>
public sealed class VcpuDirtyQuota
{
    /// <summary>QEMU DIRTYLIMIT_CALC_TIME_MS: the period when no migration sets x-vcpu-dirty-limit-period.</summary>
    public const long DefaultPeriodMs = 1000;

    /// <summary>Pages per MiB: QEMU's MB/s figures are MiB of 4 KiB pages per second.</summary>
    public const long PagesPerMib = (1 << 20) / RamBlock.PageSize;

    [ThreadStatic]
    private static VcpuDirtyQuota? _boundToThisThread;

    private readonly DirtyRateTracker _tracker;
    private readonly Action _requestExit;
    private readonly Func<long> _nowTicks;

    // Written by the vCPU thread only.
    private long _dirtyPages;
    private long _periodStartPages;
    private long _periodStartTicks;
    private long _quotaSpentTicks;
    private int _seenTrackerGeneration = -1;
    private int _seenLimitVersion = -1;

    // Written by QMP / the migration thread.
    private long _quotaPages = long.MaxValue;
    private long _periodTicks = MsToTicks(DefaultPeriodMs);
    private long _limitMbPerSec;
    private int _limitVersion;

    // Figures of the last period that ended, for query-vcpu-dirty-limit and query-migrate.
    private long _currentRateMbPerSec;
    private long _throttleUsPerRound;
    private long _quotaSpentUs;

    /// <param name="cpuIndex">QEMU cpu_index.</param>
    /// <param name="tracker">The machine's dirty-rate tracking, harvested at each period end.</param>
    /// <param name="requestExit">Makes the CPU return from its run loop at the next block boundary (thread-safe).</param>
    /// <param name="nowTicks">Host time in <see cref="Stopwatch"/> ticks; tests pass their own clock.</param>
    public VcpuDirtyQuota(int cpuIndex, DirtyRateTracker tracker, Action requestExit, Func<long>? nowTicks = null)
    {
        CpuIndex = cpuIndex;
        _tracker = tracker;
        _requestExit = requestExit;
        _nowTicks = nowTicks ?? Stopwatch.GetTimestamp;
    }

    public int CpuIndex { get; }

    /// <summary>Pages this vCPU newly dirtied since the machine started (QEMU CPUState.dirty_pages); never reset.</summary>
    public long DirtyPages => Volatile.Read(ref _dirtyPages);

    /// <summary>The limit in MiB/s, 0 when none (QEMU VcpuDirtyLimitState.quota).</summary>
    public long LimitMbPerSec => Volatile.Read(ref _limitMbPerSec);

    public bool IsLimited => LimitMbPerSec != 0;

    /// <summary>Pages allowed per period, <see cref="long.MaxValue"/> without a limit.</summary>
    public long QuotaPages => Volatile.Read(ref _quotaPages);

    /// <summary>The dirty rate over the last period that ended, MiB/s (QEMU vcpu_dirty_rate_get).</summary>
    public long CurrentRateMbPerSec => Volatile.Read(ref _currentRateMbPerSec);

    /// <summary>How long the vCPU waited in the last period that ended, µs (QEMU throttle_us_per_full).</summary>
    public long ThrottleUsPerRound => Volatile.Read(ref _throttleUsPerRound);

    /// <summary>
    /// How long the vCPU ran before it spent its quota in the last period that ended, µs; 0 when it did not spend it.
    /// The counterpart of QEMU's dirty-ring-full time: the run time one quota lasts.
    /// </summary>
    public long QuotaSpentUs => Volatile.Read(ref _quotaSpentUs);

    /// <summary>Called once on the vCPU thread: the write barrier charges this thread's stores here.</summary>
    public void BindToCurrentThread() => _boundToThisThread = this;

    /// <summary>
    /// The quota for a limit: <paramref name="limitMbPerSec"/> MiB/s over <paramref name="periodMs"/>, at least one
    /// page; <see cref="long.MaxValue"/> when the product does not fit (no limit in effect).
    /// </summary>
    public static long QuotaPagesFor(ulong limitMbPerSec, long periodMs)
    {
        if (limitMbPerSec == 0)
        {
            return long.MaxValue;
        }

        UInt128 pages = (UInt128)limitMbPerSec * PagesPerMib * (ulong)periodMs / 1000;
        return pages >= long.MaxValue ? long.MaxValue : Math.Max(1, (long)pages);
    }

    /// <summary>
    /// QEMU dirtylimit_set_vcpu: limits this vCPU to <paramref name="limitMbPerSec"/> MiB/s measured over periods of
    /// <paramref name="periodMs"/>; 0 lifts the limit. The next safe point starts a fresh period.
    /// </summary>
    public void SetLimit(ulong limitMbPerSec, long periodMs = DefaultPeriodMs)
    {
        if (periodMs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(periodMs), $"dirty limit: period {periodMs} ms is not positive");
        }

        Volatile.Write(ref _periodTicks, MsToTicks(periodMs));
        Volatile.Write(ref _quotaPages, QuotaPagesFor(limitMbPerSec, periodMs));
        Volatile.Write(ref _limitMbPerSec, (long)Math.Min(limitMbPerSec, long.MaxValue));
        Interlocked.Increment(ref _limitVersion);
        _requestExit();
    }

    /// <summary>The write barrier's charge: the calling thread's vCPU, if it has one, newly dirtied a page.</summary>
    internal static void ChargeCurrentThread() => _boundToThisThread?.Charge();

    private void Charge()
    {
        long n = _dirtyPages + 1;
        Volatile.Write(ref _dirtyPages, n);
        if (n - _periodStartPages >= Volatile.Read(ref _quotaPages))
        {
            // Quota spent: leave the run loop at the block's end, where the vCPU can wait safely (stop requests,
            // interrupts and timers are all handled there).
            _requestExit();
        }
    }

    /// <summary>
    /// At a safe point of the vCPU loop: ends the period if it is over (recording its figures and harvesting the
    /// dirty-rate bits), and returns how long the vCPU must wait, in <see cref="Stopwatch"/> ticks: until the
    /// period's end when its quota is spent, else 0. One volatile load while tracking is off.
    /// </summary>
    public long OnSafePoint()
    {
        if (!_tracker.IsTracking)
        {
            return 0;
        }

        long now = _nowTicks();
        int trackerGeneration = _tracker.Generation;
        int limitVersion = Volatile.Read(ref _limitVersion);
        if (trackerGeneration != _seenTrackerGeneration || limitVersion != _seenLimitVersion)
        {
            // Tracking restarted or the limit changed: count from here.
            _seenTrackerGeneration = trackerGeneration;
            _seenLimitVersion = limitVersion;
            BeginPeriod(now, _dirtyPages);
        }

        long periodEnd = _periodStartTicks + Volatile.Read(ref _periodTicks);
        if (now >= periodEnd)
        {
            EndPeriod(now);
            periodEnd = _periodStartTicks + Volatile.Read(ref _periodTicks);
        }

        if (_dirtyPages - _periodStartPages < Volatile.Read(ref _quotaPages))
        {
            return 0;
        }

        if (_quotaSpentTicks == 0)
        {
            _quotaSpentTicks = now;
        }

        return periodEnd - now;
    }

    private void EndPeriod(long now)
    {
        long pages = _dirtyPages - _periodStartPages;
        Volatile.Write(ref _currentRateMbPerSec, RateMbPerSec(pages, TicksToUs(now - _periodStartTicks) / 1000));
        bool spent = _quotaSpentTicks != 0;
        Volatile.Write(ref _throttleUsPerRound, spent ? TicksToUs(now - _quotaSpentTicks) : 0);
        Volatile.Write(ref _quotaSpentUs, spent ? TicksToUs(_quotaSpentTicks - _periodStartTicks) : 0);

        // Pages past the quota (the rest of the block that spent it) count against the next period.
        long quota = Volatile.Read(ref _quotaPages);
        long excess = quota == long.MaxValue ? 0 : Math.Max(0, pages - quota);
        BeginPeriod(now, _dirtyPages - excess);
        _tracker.Harvest();
    }

    private void BeginPeriod(long now, long startPages)
    {
        _periodStartTicks = now;
        _periodStartPages = startPages;
        _quotaSpentTicks = 0;
    }

    /// <summary>QEMU do_calculate_dirtyrate: the whole MiB that <paramref name="pages"/> make, per second.</summary>
    public static long RateMbPerSec(long pages, long elapsedMs) => pages / PagesPerMib * 1000 / Math.Max(1, elapsedMs);

    private static long MsToTicks(long ms) => ms * Stopwatch.Frequency / 1000;

    private static long TicksToUs(long ticks) => (long)((Int128)ticks * 1_000_000 / Stopwatch.Frequency);
}
