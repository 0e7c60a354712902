using Emu.Machine.Board;

namespace Emu.UnitTests.Board;

/// <summary>
/// The virtual clock's guest time: a host stall between two readings is not seen by a running guest as a gap
/// longer than its instructions could take, the time held back is paid back later, and idle time passes freely.
/// </summary>
public sealed class VirtualClockTests
{
    [Fact]
    public void AHostStallBetweenTwoReadingsIsBoundedByTheInstructionsRetired()
    {
        long instructions = 0;
        var clock = new VirtualClock { InstructionCounter = () => instructions };
        clock.Resume();
        long before = clock.NowNs;
        Thread.Sleep(30);
        instructions += 10;
        long after = clock.NowNs;

        Assert.InRange(after - before, 0, 10 * VirtualClock.MaxNsPerInstruction);
        Assert.True(clock.LagNs >= 25_000_000, $"lag {clock.LagNs} ns");
    }

    [Fact]
    public void TheLagIsPaidBackWhileTheGuestRuns()
    {
        long instructions = 0;
        var clock = new VirtualClock { InstructionCounter = () => instructions };
        clock.Resume();
        _ = clock.NowNs;
        Thread.Sleep(20);
        _ = clock.NowNs; // no instructions: all 20 ms held back
        long lag = clock.LagNs;
        Assert.True(lag >= 15_000_000, $"lag {lag} ns");

        // Running at a believable rate, readings 1 ms apart repay a quarter of each step until nothing is owed.
        long start = clock.NowNs;
        var wall = System.Diagnostics.Stopwatch.StartNew();
        while (clock.LagNs > 0 && wall.ElapsedMilliseconds < 2000)
        {
            instructions += 1_000_000;
            Thread.Sleep(1);
            _ = clock.NowNs;
        }

        Assert.Equal(0, clock.LagNs);
        long guest = clock.NowNs - start;
        Assert.True(guest > wall.Elapsed.Ticks * 100, $"guest time {guest} ns ran no faster than host time {wall.Elapsed}");
    }

    [Fact]
    public void IdleTimePassesAtTheHostsPace()
    {
        long instructions = 0;
        var clock = new VirtualClock { InstructionCounter = () => instructions };
        clock.Resume();
        clock.SetIdle(true);
        long before = clock.NowNs;
        Thread.Sleep(20);
        long after = clock.NowNs;
        Assert.True(after - before >= 19_000_000, $"idle step {after - before} ns");
        Assert.Equal(0, clock.LagNs);
    }

    [Fact]
    public void WithoutAnInstructionCounterGuestTimeIsHostTime()
    {
        var clock = new VirtualClock();
        clock.Resume();
        long before = clock.NowNs;
        Thread.Sleep(20);
        Assert.True(clock.NowNs - before >= 19_000_000);
    }

    [Fact]
    public void APausedClockDoesNotMoveAndDropsItsLag()
    {
        long instructions = 0;
        var clock = new VirtualClock { InstructionCounter = () => instructions };
        clock.Resume();
        _ = clock.NowNs;
        Thread.Sleep(10);
        _ = clock.NowNs;
        clock.Pause();
        long paused = clock.NowNs;
        Thread.Sleep(10);
        Assert.Equal(paused, clock.NowNs);
        Assert.Equal(0, clock.LagNs);
    }
}
