using System.Diagnostics;
using Emu.Machine.DirtyRate;
using Emu.Machine.Memory;

namespace Emu.UnitTests.DirtyRate;

/// <summary>
/// The quota accounting of <see cref="VcpuDirtyQuota"/> against a real <see cref="DirtyLog"/>: stores are made on a
/// thread bound to the quota, as the vCPU thread is, on a clock the test moves.
/// </summary>
public sealed class VcpuDirtyQuotaTests : IDisposable
{
    private const int Pages = 1024;

    private readonly RamBlock _block = new("pc.ram", Pages * RamBlock.PageSize);
    private readonly DirtyLimitState _limits;
    private readonly VcpuDirtyQuota _quota;
    private long _nowTicks = 1_000_000;
    private int _exitRequests;

    public VcpuDirtyQuotaTests()
    {
        var tracker = new DirtyRateTracker([_block]);
        _quota = new VcpuDirtyQuota(0, tracker, () => _exitRequests++, () => _nowTicks);
        _limits = new DirtyLimitState(tracker, [_quota]);
    }

    public void Dispose() => _block.Dispose();

    private static long Ms(long ms) => ms * Stopwatch.Frequency / 1000;

    /// <summary>Writes pages [first, first+count) on a thread bound to the quota (the vCPU's).</summary>
    private void WriteOnVcpu(int first, int count)
    {
        var vcpu = new Thread(() =>
        {
            _quota.BindToCurrentThread();
            for (int p = first; p < first + count; p++)
            {
                _block.Write((ulong)p * RamBlock.PageSize, [1]);
            }
        });
        vcpu.Start();
        vcpu.Join();
    }

    [Theory]
    [InlineData(1UL, 1000L, 256L)]
    [InlineData(3UL, 500L, 384L)]
    [InlineData(1UL, 1L, 1L)]
    [InlineData(0UL, 1000L, long.MaxValue)]
    [InlineData(ulong.MaxValue, 1000L, long.MaxValue)]
    public void QuotaIsTheLimitsPagesPerPeriodAtLeastOne(ulong mbPerSec, long periodMs, long expected) =>
        Assert.Equal(expected, VcpuDirtyQuota.QuotaPagesFor(mbPerSec, periodMs));

    [Fact]
    public void OnlyNewlyDirtiedPagesAreChargedAndTheStoreThatSpendsTheQuotaAsksTheVcpuToExit()
    {
        _limits.Set(0, 1);
        Assert.Equal(0, _quota.OnSafePoint());
        _exitRequests = 0;

        WriteOnVcpu(0, 255);
        WriteOnVcpu(0, 255);
        Assert.Equal(255, _quota.DirtyPages);
        Assert.Equal(0, _exitRequests);
        Assert.Equal(0, _quota.OnSafePoint());

        WriteOnVcpu(255, 1);
        Assert.Equal(256, _quota.DirtyPages);
        Assert.Equal(1, _exitRequests);

        // Spent 100 ms into the period: wait the other 900 ms.
        _nowTicks += Ms(100);
        Assert.Equal(Ms(900), _quota.OnSafePoint());
    }

    [Fact]
    public void APeriodsEndRecordsItsRateAndWaitThenHarvestsSoPagesChargeAgain()
    {
        _limits.Set(0, 1);
        _quota.OnSafePoint();
        WriteOnVcpu(0, 256);
        _nowTicks += Ms(10);
        Assert.Equal(Ms(990), _quota.OnSafePoint());

        _nowTicks += Ms(990);
        Assert.Equal(0, _quota.OnSafePoint());
        Assert.Equal(1, _quota.CurrentRateMbPerSec);
        Assert.Equal(990_000, _quota.ThrottleUsPerRound);
        Assert.Equal(10_000, _quota.QuotaSpentUs);
        Assert.Equal([(0, 1L, 1L)], _limits.Query());

        // The harvest made the same pages newly dirty again.
        WriteOnVcpu(0, 10);
        Assert.Equal(266, _quota.DirtyPages);
    }

    [Fact]
    public void PagesPastTheQuotaCountAgainstTheNextPeriod()
    {
        _limits.Set(0, 1);
        _quota.OnSafePoint();
        WriteOnVcpu(0, 300);
        _nowTicks += Ms(1000);
        Assert.Equal(0, _quota.OnSafePoint());

        // 44 of the next 256 are already spent.
        WriteOnVcpu(300, 211);
        Assert.Equal(0, _quota.OnSafePoint());
        WriteOnVcpu(511, 1);
        Assert.True(_quota.OnSafePoint() > 0);
    }

    [Fact]
    public void StoresFromOtherThreadsAreNotChargedToTheVcpu()
    {
        _limits.Set(0, 1);
        _quota.OnSafePoint();
        for (int p = 0; p < 300; p++)
        {
            _block.Write((ulong)p * RamBlock.PageSize, [1]);
        }

        Assert.Equal(0, _quota.DirtyPages);
        Assert.Equal(0, _quota.OnSafePoint());
        Assert.Equal(300, _limits.Tracker.Harvest());
    }

    [Fact]
    public void WithoutTrackingNothingIsChargedAndCancelTurnsTrackingOff()
    {
        WriteOnVcpu(0, 300);
        Assert.Equal(0, _quota.DirtyPages);
        Assert.False(_block.DirtyLog.IsEnabled(DirtyClient.DirtyRate));

        _limits.Set(null, 5);
        Assert.True(_limits.InService);
        Assert.True(_block.DirtyLog.IsEnabled(DirtyClient.DirtyRate));
        Assert.Equal(5 * 256, _quota.QuotaPages);

        _limits.Cancel(null);
        Assert.False(_limits.InService);
        Assert.Empty(_limits.Query());
        Assert.False(_block.DirtyLog.IsEnabled(DirtyClient.DirtyRate));
        Assert.Equal(0, _quota.OnSafePoint());
        WriteOnVcpu(0, 300);
        Assert.Equal(0, _quota.DirtyPages);
    }

    [Fact]
    public void AMeasurementKeepsTrackingOnAfterTheLimitIsCancelled()
    {
        _limits.Set(0, 1);
        _limits.Tracker.Start(DirtyTrackingReasons.Measure);
        _limits.Cancel(0);
        Assert.True(_block.DirtyLog.IsEnabled(DirtyClient.DirtyRate));
        Assert.Equal(DirtyTrackingReasons.Measure, _limits.Tracker.Reasons);
        _limits.Tracker.Stop(DirtyTrackingReasons.Measure);
        Assert.False(_block.DirtyLog.IsEnabled(DirtyClient.DirtyRate));
    }
}
