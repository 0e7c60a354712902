using Emu.Migration;
using Emu.Migration.Ram;

namespace Emu.UnitTests.Migration;

public class AutoConvergeTests
{
    private static (AutoConverge Ac, Func<int> Throttle) Make(MigrationOptions o)
    {
        int throttle = 0;
        var ac = new AutoConverge(o, () => throttle, p => throttle = p);
        return (ac, () => throttle);
    }

    private static MigrationOptions WithAutoConverge(MigrationParameters? p = null)
    {
        var o = new MigrationOptions { Parameters = p ?? new MigrationParameters() };
        o.Capabilities = o.Capabilities.With(MigrationCapability.AutoConverge, true);
        return o;
    }

    [Fact]
    public void StartsOnTheSecondTooFastPeriodThenRisesEverySecondOneUpToTheMax()
    {
        var (ac, throttle) = Make(WithAutoConverge());
        var seen = new List<int>();
        for (int period = 0; period < 24; period++)
        {
            // 100 MB sent, 60 MB dirtied: above 50 %.
            ac.OnPeriodEnd(100_000_000, 60_000_000);
            seen.Add(throttle());
        }

        Assert.Equal([0, 20, 20, 30, 30, 40, 40, 50, 50, 60, 60, 70, 70, 80, 80, 90, 90, 99, 99, 99, 99, 99, 99, 99], seen);
    }

    [Fact]
    public void GoodPeriodsInBetweenDoNotResetTheCounter()
    {
        var (ac, throttle) = Make(WithAutoConverge());
        ac.OnPeriodEnd(100, 60);
        ac.OnPeriodEnd(100, 50);
        ac.OnPeriodEnd(100, 10);
        Assert.Equal(0, throttle());
        Assert.Equal(1, ac.DirtyRateHighCount);
        ac.OnPeriodEnd(100, 51);
        Assert.Equal(20, throttle());
        Assert.Equal(0, ac.DirtyRateHighCount);
    }

    [Fact]
    public void WithoutTheCapabilityTheTriggerCountsButNeverThrottles()
    {
        var (ac, throttle) = Make(new MigrationOptions());
        for (int i = 0; i < 6; i++)
        {
            Assert.False(ac.OnPeriodEnd(100, 90));
        }

        Assert.Equal(0, throttle());
    }

    [Fact]
    public void TriggerThresholdChangesTheRatio()
    {
        var (ac, throttle) = Make(WithAutoConverge(new MigrationParameters { ThrottleTriggerThresholdPercent = 100 }));
        ac.OnPeriodEnd(100, 100);
        ac.OnPeriodEnd(100, 100);
        Assert.Equal(0, throttle());
        ac.OnPeriodEnd(100, 101);
        ac.OnPeriodEnd(100, 101);
        Assert.Equal(20, throttle());
    }

    [Fact]
    public void TailslowExampleFromTheSpec()
    {
        var p = new MigrationParameters { CpuThrottleTailslow = true };
        Assert.Equal(28, AutoConverge.NextThrottle(20, p, 110_000_000, 100_000_000));
        Assert.Equal(30, AutoConverge.NextThrottle(20, p with { CpuThrottleTailslow = false }, 110_000_000, 100_000_000));

        // A dirty rate far above the threshold is capped by the increment.
        Assert.Equal(30, AutoConverge.NextThrottle(20, p, 1_000_000_000, 100_000_000));
    }

    [Fact]
    public void InitialIncrementAndMaxAreParameters()
    {
        var p = new MigrationParameters { CpuThrottleInitialPercent = 35, CpuThrottleIncrementPercent = 25, MaxCpuThrottlePercent = 70 };
        Assert.Equal(35, AutoConverge.NextThrottle(0, p, 2, 1));
        Assert.Equal(60, AutoConverge.NextThrottle(35, p, 2, 1));
        Assert.Equal(70, AutoConverge.NextThrottle(60, p, 2, 1));
        Assert.Equal(70, AutoConverge.NextThrottle(70, p, 2, 1));
    }

    [Fact]
    public void StopResetsTheThrottle()
    {
        var (ac, throttle) = Make(WithAutoConverge());
        ac.OnPeriodEnd(100, 60);
        ac.OnPeriodEnd(100, 60);
        Assert.Equal(20, throttle());
        ac.Stop();
        Assert.Equal(0, throttle());
    }

    [Fact]
    public void WithDirtyLimitTheSecondTooFastPeriodLimitsEveryVcpuInsteadOfThrottlingAndStopLiftsIt()
    {
        using var machine = new FakeMachine(("pc.ram", 64 * 4096));
        var o = new MigrationOptions { Parameters = new MigrationParameters { VcpuDirtyLimitMbPerSec = 4, VcpuDirtyLimitPeriodMs = 500 } };
        o.Capabilities = o.Capabilities.With(MigrationCapability.DirtyLimit, true);
        int throttle = 0;
        var ac = new AutoConverge(o, () => throttle, p => throttle = p, new MigrationDirtyLimit(o, machine.DirtyLimit));
        Assert.True(ac.BrakesByDirtyLimit);

        Assert.False(ac.OnPeriodEnd(100, 60));
        Assert.False(machine.DirtyLimit.InService);
        Assert.True(ac.OnPeriodEnd(100, 60));
        Assert.Equal(0, throttle);
        Assert.Equal([(0, 4L, 0L)], machine.DirtyLimit.Query());

        // 4 MiB/s over 500 ms periods: 512 pages each.
        Assert.Equal(512, machine.DirtyLimit.Vcpus[0].QuotaPages);

        // A changed vcpu-dirty-limit applies at the next trigger (QEMU re-applies only then).
        o.Parameters = o.Parameters with { VcpuDirtyLimitMbPerSec = 2 };
        ac.OnPeriodEnd(100, 60);
        ac.OnPeriodEnd(100, 60);
        Assert.Equal([(0, 2L, 0L)], machine.DirtyLimit.Query());

        ac.Stop();
        Assert.False(machine.DirtyLimit.InService);
    }
}
