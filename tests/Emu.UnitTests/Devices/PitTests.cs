using Emu.Machine.Board;
using Emu.Machine.Devices.Pit;
using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.UnitTests.Devices;

public sealed class PitTests
{
    internal const double TickNs = 1e9 / 1_193_182;

    private readonly VirtualClock _clock = new();
    private readonly IrqRecorder _irq = new();
    private readonly IoBus _bus = new();
    private readonly Pit8254 _pit;
    private readonly PcSpeakerPort _speaker;
    private readonly List<long> _irq0Rises = [];

    public PitTests()
    {
        _pit = new Pit8254(_clock, _irq);
        _speaker = new PcSpeakerPort(_pit, _clock);
        _pit.Register(_bus);
        _speaker.Register(_bus);
        _irq.OnChange = (irq, level) =>
        {
            if (irq == 0 && level)
            {
                _irq0Rises.Add(_clock.NowNs);
            }
        };
    }

    [Fact]
    public void LatchedCountFollowsVirtualTime()
    {
        Program(channel: 0, mode: 2, count: 1193);
        AdvanceTo(500_000);

        // 500 µs is 596 whole ticks: the rate generator counts 1193 → 597.
        _bus.Write(0x43, 1, 0x00);
        int latched = (int)(_bus.Read(0x40, 1) | (_bus.Read(0x40, 1) << 8));
        Assert.Equal(1193 - 596, latched);

        // The latch holds while time moves on; an unlatched read sees the new value.
        AdvanceTo(600_000);
        Assert.Equal(1193 - 715, ReadWord(0));
    }

    [Fact]
    public void LatchHoldsUntilRead()
    {
        Program(channel: 0, mode: 0, count: 50_000);
        AdvanceTo(1_000_000);
        _bus.Write(0x43, 1, 0x00);
        AdvanceTo(2_000_000);
        Assert.Equal(50_000 - 1193, (int)(_bus.Read(0x40, 1) | (_bus.Read(0x40, 1) << 8)));
    }

    [Fact]
    public void RateGeneratorRaisesIrq0EveryPeriod()
    {
        Program(channel: 0, mode: 2, count: 1193);
        long first = Deadline(1193);
        AdvanceTo(first - 1);
        Assert.Empty(_irq0Rises);
        AdvanceTo(first);
        Assert.Equal([first], _irq0Rises);

        for (int k = 2; k <= 5; k++)
        {
            AdvanceTo(Deadline(1193L * k));
        }

        Assert.Equal([Deadline(1193), Deadline(2386), Deadline(3579), Deadline(4772), Deadline(5965)], _irq0Rises);
    }

    [Fact]
    public void InterruptOnTerminalCountFiresOnce()
    {
        Program(channel: 0, mode: 0, count: 100);
        Assert.False(_irq.Level(0));
        AdvanceTo(Deadline(100) - 1);
        Assert.False(_irq.Level(0));
        AdvanceTo(Deadline(100));
        Assert.True(_irq.Level(0));
        AdvanceTo(100_000_000);
        Assert.Single(_irq0Rises);
        Assert.Equal(long.MaxValue, _clock.NextDeadlineNs);
    }

    [Fact]
    public void PowerOnSquareWaveRunsAt18Hz()
    {
        // Reset leaves counter 0 in mode 3 with 0x10000: a rising edge every 65536 ticks (≈ 54.9 ms).
        AdvanceTo(200_000_000);
        Assert.Equal([Deadline(65536), Deadline(131072), Deadline(196608)], _irq0Rises);
    }

    [Fact]
    public void ReadBackLatchesStatusWithModeAccessBcdAndOut()
    {
        _bus.Write(0x43, 1, 0x35);
        _bus.Write(0x40, 1, 0x00);
        _bus.Write(0x40, 1, 0x10);
        _bus.Write(0x43, 1, 0xE2);
        Assert.Equal(0xB5u, _bus.Read(0x40, 1)); // OUT high, word access, mode 2, BCD

        // Counts latched by read-back come next, in the counter's access mode.
        _bus.Write(0x43, 1, 0xD2);
        Assert.Equal(0x00u, _bus.Read(0x40, 1));
        Assert.Equal(0x10u, _bus.Read(0x40, 1));
    }

    [Fact]
    public void LowByteOnlyAndHighByteOnlyAccess()
    {
        _bus.Write(0x43, 1, 0x10);
        _bus.Write(0x40, 1, 0x80);
        Assert.Equal(0x80u, _bus.Read(0x40, 1));
        Assert.Equal(0x80u, _bus.Read(0x40, 1));

        _bus.Write(0x43, 1, 0x20);
        _bus.Write(0x40, 1, 0x12);
        Assert.Equal(0x12u, _bus.Read(0x40, 1));
    }

    [Fact]
    public void SpeakerPortGatesCounter2AndShowsItsOutput()
    {
        Program(channel: 2, mode: 0, count: 10);
        Assert.Equal(0u, _bus.Read(0x61, 1) & 0x23);
        _bus.Write(0x61, 1, 0x03);
        Assert.Equal(0x03u, _bus.Read(0x61, 1) & 0x23);
        AdvanceTo(Deadline(10));
        Assert.Equal(0x23u, _bus.Read(0x61, 1) & 0x23);
    }

    [Fact]
    public void SpeakerPortRefreshBitTogglesWithVirtualTime()
    {
        uint a = _bus.Read(0x61, 1) & 0x10;
        Assert.Equal(a, _bus.Read(0x61, 1) & 0x10);
        AdvanceTo(PcSpeakerPort.RefreshPeriodNs);
        Assert.NotEqual(a, _bus.Read(0x61, 1) & 0x10);
    }

    [Fact]
    public void StateRoundTripKeepsTimingOnTheDestination()
    {
        Program(channel: 0, mode: 2, count: 1193);
        Program(channel: 2, mode: 3, count: 0x1234);
        AdvanceTo(1_500_000);
        _bus.Write(0x43, 1, 0x00);

        var destClock = new VirtualClock();
        destClock.Set(_clock.NowNs);
        var destIrq = new IrqRecorder();
        var dest = new Pit8254(destClock, destIrq);
        DeviceStateAssert.RoundTrip(_pit, dest);

        // The restored timer fires at the source's next deadline: OUT falls for the period's last tick, then rises.
        Assert.Equal(Deadline(2385), destClock.NextDeadlineNs);
        destClock.Set(Deadline(2385));
        destClock.RunDueTimers();
        Assert.False(destIrq.Level(0));
        destClock.Set(Deadline(2386));
        destClock.RunDueTimers();
        Assert.True(destIrq.Level(0));
    }

    [Fact]
    public void BadStateIsRefused()
    {
        PitState s = _pit.Save();
        DeviceStateAssert.RefusesBadLoads(_pit, s with { Channel1 = s.Channel1 with { Mode = 6 } });
        DeviceStateAssert.RefusesBadLoads(_pit, s with { Channel0 = s.Channel0 with { Count = 0 } });
    }

    [Fact]
    public void SpeakerStateRoundTripsAndRefusesBadBytes()
    {
        _bus.Write(0x61, 1, 0x02);
        var fresh = new PcSpeakerPort(new Pit8254(new VirtualClock(), new IrqRecorder()), new VirtualClock());
        Assert.True(DeviceStateAssert.RoundTrip(_speaker, fresh).DataOn);
        DeviceStateAssert.Refused(_speaker, _speaker.Save(), 2);
        Assert.Throws<VmStateException>(() => ((IVmStateDevice)fresh).LoadState(new ByteStateReader(new byte[] { 2 }), 1));
        Assert.True(fresh.Save().DataOn);
    }

    private static long Deadline(long ticks) => (long)Math.Ceiling(ticks * TickNs - 1e-6);

    private void Program(int channel, int mode, int count)
    {
        _bus.Write(0x43, 1, (uint)((channel << 6) | 0x30 | (mode << 1)));
        _bus.Write((ushort)(0x40 + channel), 1, (uint)(count & 0xFF));
        _bus.Write((ushort)(0x40 + channel), 1, (uint)(count >> 8));
    }

    private int ReadWord(int channel) =>
        (int)(_bus.Read((ushort)(0x40 + channel), 1) | (_bus.Read((ushort)(0x40 + channel), 1) << 8));

    /// <summary>Moves the paused clock forward deadline by deadline, firing timers at each, as the vCPU would.</summary>
    private void AdvanceTo(long ns)
    {
        while (_clock.NextDeadlineNs <= ns)
        {
            _clock.Set(Math.Max(_clock.NowNs, _clock.NextDeadlineNs));
            _clock.RunDueTimers();
        }

        _clock.Set(ns);
    }
}
