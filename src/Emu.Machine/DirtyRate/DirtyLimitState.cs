using Emu.Machine.Memory;

namespace Emu.Machine.DirtyRate;

/// <summary>
/// The machine's vCPU dirty-page limits (QEMU dirtylimit.c's dirtylimit_state): which vCPUs are limited and to what,
/// kept in each vCPU's <see cref="VcpuDirtyQuota"/>. While any vCPU is limited the limit is "in service" and
/// dirty-rate tracking holds <see cref="DirtyTrackingReasons.Limit"/>. Callers check the cpu index first
/// (<see cref="IsValidCpuIndex"/>): a bad one is the user's mistake, refused at the QMP boundary.
/// </summary>
public sealed class DirtyLimitState(DirtyRateTracker tracker, IReadOnlyList<VcpuDirtyQuota> vcpus)
{
    private readonly object _lock = new();

    public DirtyRateTracker Tracker => tracker;

    /// <summary>The limits of a one-vCPU machine (cpu-index 0) whose RAM is <paramref name="blocks"/>.</summary>
    public static DirtyLimitState ForOneVcpu(IReadOnlyList<RamBlock> blocks, Action requestExit)
    {
        var tracker = new DirtyRateTracker(blocks);
        return new DirtyLimitState(tracker, [new VcpuDirtyQuota(cpuIndex: 0, tracker, requestExit)]);
    }

    public IReadOnlyList<VcpuDirtyQuota> Vcpus => vcpus;

    /// <summary>QEMU dirtylimit_in_service: some vCPU is limited.</summary>
    public bool InService
    {
        get
        {
            lock (_lock)
            {
                return LimitedCount() != 0;
            }
        }
    }

    /// <summary>QEMU dirtylimit_vcpu_index_valid.</summary>
    public bool IsValidCpuIndex(long cpuIndex) => cpuIndex >= 0 && cpuIndex < vcpus.Count;

    /// <summary>
    /// QEMU qmp_set_vcpu_dirty_limit after its checks: limits one vCPU (or all, when <paramref name="cpuIndex"/> is
    /// null) to <paramref name="limitMbPerSec"/> MiB/s per period of <paramref name="periodMs"/>; 0 cancels.
    /// </summary>
    public void Set(int? cpuIndex, ulong limitMbPerSec, long periodMs = VcpuDirtyQuota.DefaultPeriodMs)
    {
        lock (_lock)
        {
            if (limitMbPerSec != 0)
            {
                tracker.Start(DirtyTrackingReasons.Limit);
            }

            foreach (VcpuDirtyQuota v in Selected(cpuIndex))
            {
                v.SetLimit(limitMbPerSec, periodMs);
            }

            StopTrackingIfNoneLimited();
        }
    }

    /// <summary>QEMU qmp_cancel_vcpu_dirty_limit after its checks: lifts one vCPU's limit, or all.</summary>
    public void Cancel(int? cpuIndex) => Set(cpuIndex, 0);

    /// <summary>QEMU qmp_query_vcpu_dirty_limit: the limited vCPUs with their limit and last-period rate (MiB/s).</summary>
    public IReadOnlyList<(int CpuIndex, long LimitMbPerSec, long CurrentMbPerSec)> Query()
    {
        lock (_lock)
        {
            var list = new List<(int, long, long)>();
            foreach (VcpuDirtyQuota v in vcpus)
            {
                if (v.IsLimited)
                {
                    list.Add((v.CpuIndex, v.LimitMbPerSec, v.CurrentRateMbPerSec));
                }
            }

            return list;
        }
    }

    /// <summary>QEMU dirtylimit_throttle_time_per_round: the longest wait of any vCPU in its last period, µs.</summary>
    public long ThrottleTimePerRoundUs => vcpus.Count == 0 ? 0 : vcpus.Max(v => v.ThrottleUsPerRound);

    /// <summary>
    /// QEMU dirtylimit_ring_full_time, Emu's measure: the mean run time one quota lasted in the vCPUs' last periods,
    /// µs; 0 when no vCPU spent its quota.
    /// </summary>
    public long RingFullTimeUs
    {
        get
        {
            long sum = 0;
            int n = 0;
            foreach (VcpuDirtyQuota v in vcpus)
            {
                if (v.QuotaSpentUs != 0)
                {
                    sum += v.QuotaSpentUs;
                    n++;
                }
            }

            return n == 0 ? 0 : sum / n;
        }
    }

    private IEnumerable<VcpuDirtyQuota> Selected(int? cpuIndex) => cpuIndex is int i ? [vcpus[i]] : vcpus;

    private int LimitedCount() => vcpus.Count(v => v.IsLimited);

    private void StopTrackingIfNoneLimited()
    {
        if (LimitedCount() == 0)
        {
            tracker.Stop(DirtyTrackingReasons.Limit);
        }
    }
}
