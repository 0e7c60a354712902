using Emu.Machine.Board;
using Emu.Machine.Devices.Rtc;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class RtcTests
{
    internal const long Second = 1_000_000_000;

    // A Thursday, two seconds before a leap-day midnight.
    internal static readonly DateTime Start = new(2024, 2, 29, 23, 59, 58, DateTimeKind.Utc);

    private readonly VirtualClock _clock = new();
    private readonly IrqRecorder _irq = new();
    private readonly IoBus _bus = new();
    private readonly Mc146818 _rtc;

    public RtcTests()
    {
        _rtc = new Mc146818(_clock, _irq, 128UL << 20, Start);
        _rtc.Register(_bus);
    }

    [Fact]
    public void TimeRegistersReadInBcdAnd24HourByDefault()
    {
        Assert.Equal([0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20], ReadTime());
        Assert.Equal(0x26, Cmos(0x0A));
        Assert.Equal(0x02, Cmos(0x0B));
        Assert.Equal(0x80, Cmos(0x0D));
    }

    [Fact]
    public void TimeAdvancesWithTheVirtualClockOnly()
    {
        AdvanceTo(3 * Second);
        Assert.Equal([0x01, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20], ReadTime());
    }

    [Fact]
    public void BinaryAnd12HourFormats()
    {
        AdvanceTo(13 * 3600 * Second);
        Write(0x0B, 0x06);
        Assert.Equal([58, 59, 12, 6, 1, 3, 24, 20], ReadTime());

        // 12-hour BCD: 12:59:58 PM shows hour 0x12 with the PM bit.
        Write(0x0B, 0x00);
        Assert.Equal(0x92, Cmos(0x04));
    }

    [Fact]
    public void SetModeFreezesAndLeavingItStartsFromTheWrittenTime()
    {
        Write(0x0B, 0x82);
        Write(0x00, 0x30);
        Write(0x02, 0x15);
        Write(0x04, 0x10);
        Write(0x07, 0x04);
        Write(0x08, 0x07);
        Write(0x09, 0x99);
        Write(0x32, 0x19);
        AdvanceTo(5 * Second);
        Assert.Equal(0x30, Cmos(0x00));
        Write(0x0B, 0x02);
        AdvanceTo(7 * Second);
        Assert.Equal(0x32, Cmos(0x00));
        Assert.Equal(0x15, Cmos(0x02));
        Assert.Equal(0x10, Cmos(0x04));
        Assert.Equal(0x99, Cmos(0x09));
        Assert.Equal(0x19, Cmos(0x32));
    }

    [Fact]
    public void UpdateEndedFlagWithoutAndWithInterrupt()
    {
        Assert.Equal(0x00, Cmos(0x0C));
        AdvanceTo(Second / 2);
        Assert.Equal(0x00, Cmos(0x0C));
        AdvanceTo(Second + 1);
        Assert.Equal(0x10, Cmos(0x0C));
        Assert.Equal(0x00, Cmos(0x0C));
        Assert.False(_irq.Level(8));

        // The alarm registers (all zero) would match midnight: point them elsewhere.
        Write(0x05, 0x12);
        Write(0x0B, 0x12);
        AdvanceTo((2 * Second) - 1);
        Assert.False(_irq.Level(8));
        AdvanceTo(2 * Second);
        Assert.True(_irq.Level(8));
        Assert.Equal(0x90, Cmos(0x0C));
        Assert.False(_irq.Level(8));
    }

    [Fact]
    public void UpdateInProgressIsSetJustBeforeTheSecondChanges()
    {
        Assert.Equal(0, Cmos(0x0A) & 0x80);
        AdvanceTo(Second - 100_000);
        Assert.Equal(0x80, Cmos(0x0A) & 0x80);
        AdvanceTo(Second);
        Assert.Equal(0, Cmos(0x0A) & 0x80);
    }

    [Fact]
    public void PeriodicInterruptAt1024Hz()
    {
        Write(0x0B, 0x42);
        long period = (long)Math.Ceiling(32 * 1e9 / 32768);
        AdvanceTo(period - 1);
        Assert.False(_irq.Level(8));
        AdvanceTo(period);
        Assert.True(_irq.Level(8));
        Assert.Equal(0xC0, Cmos(0x0C));
        Assert.False(_irq.Level(8));

        // Without reading C the line stays high after the next period: one more edge only.
        AdvanceTo(3 * period);
        Assert.Equal(2, _irq.RisingEdges(8));

        // A handler that reads C each time sees 1024 interrupts a second: 10 in the next 10 ms and 240 µs.
        Cmos(0x0C);
        _irq.OnChange = (irq, level) =>
        {
            if (level)
            {
                Cmos(0x0C);
            }
        };
        AdvanceTo((3 * period) + 10_240_000);
        Assert.Equal(12, _irq.RisingEdges(8));
    }

    [Fact]
    public void AlarmFiresWhenTimeMatches()
    {
        // Alarm at 00:00:01 (seconds and minutes exact, hours don't-care).
        Write(0x01, 0x01);
        Write(0x03, 0x00);
        Write(0x05, 0xC0);
        Write(0x0B, 0x22);
        AdvanceTo(2 * Second);
        Assert.False(_irq.Level(8));
        AdvanceTo(3 * Second);
        Assert.True(_irq.Level(8));
        Assert.Equal(0xB0, Cmos(0x0C));
    }

    [Theory]
    [InlineData(128UL << 20, 0xFFFF, 0x0700)]
    [InlineData(32UL << 20, 0x7C00, 0x0100)]
    [InlineData(8UL << 20, 0x1C00, 0x0000)]
    public void RamSizeInTheUsualCmosBytes(ulong ram, int extendedKiB, int above16MiB64K)
    {
        var rtc = new Mc146818(new VirtualClock(), _irq, ram, Start);
        Assert.Equal(640, rtc.GetCmos(0x15) | (rtc.GetCmos(0x16) << 8));
        Assert.Equal(extendedKiB, rtc.GetCmos(0x17) | (rtc.GetCmos(0x18) << 8));
        Assert.Equal(extendedKiB, rtc.GetCmos(0x30) | (rtc.GetCmos(0x31) << 8));
        Assert.Equal(above16MiB64K, rtc.GetCmos(0x34) | (rtc.GetCmos(0x35) << 8));
        Assert.Equal(0x00, rtc.GetCmos(0x10));
    }

    [Fact]
    public void HardDiskGeometryBytes()
    {
        _rtc.SetHardDiskGeometry(0, 1024, 16, 63);
        Assert.Equal(0xF0, Cmos(0x12));
        Assert.Equal(47, Cmos(0x19));
        Assert.Equal(1024, Cmos(0x1B) | (Cmos(0x1C) << 8));
        Assert.Equal(16, Cmos(0x1D));
        Assert.Equal(63, Cmos(0x23));
    }

    [Fact]
    public void IndexPortKeepsNmiMaskBitAndRamIsReadWrite()
    {
        _bus.Write(0x70, 1, 0x80 | 0x40);
        Assert.True(_rtc.NmiDisabled);
        _bus.Write(0x71, 1, 0xAB);
        _bus.Write(0x70, 1, 0x40);
        Assert.False(_rtc.NmiDisabled);
        Assert.Equal(0xABu, _bus.Read(0x71, 1));
    }

    [Fact]
    public void StateRoundTripContinuesTimeAndTimers()
    {
        Write(0x0B, 0x52);
        AdvanceTo(Second / 3);
        var destClock = new VirtualClock();
        destClock.Set(_clock.NowNs);
        var dest = new Mc146818(destClock, new IrqRecorder(), 64UL << 20, DateTime.UnixEpoch);
        DeviceStateAssert.RoundTrip(_rtc, dest);
        Assert.Equal(_clock.NextDeadlineNs, destClock.NextDeadlineNs);
        destClock.Set(3 * Second);
        Assert.Equal(0x01, dest.GetCmos(0x00));
        Assert.Equal(0x03, dest.GetCmos(0x08));
    }

    [Fact]
    public void BadStateIsRefused()
    {
        DeviceStateAssert.RefusesBadLoads(_rtc, _rtc.Save() with { Index = 0x80 });
        DeviceStateAssert.RefusesBadLoads(_rtc, _rtc.Save() with { NextPeriodicNs = -5 });
    }

    private int Cmos(int index)
    {
        _bus.Write(0x70, 1, (uint)index);
        return (int)_bus.Read(0x71, 1);
    }

    private void Write(int index, int value)
    {
        _bus.Write(0x70, 1, (uint)index);
        _bus.Write(0x71, 1, (uint)value);
    }

    private int[] ReadTime() => [Cmos(0), Cmos(2), Cmos(4), Cmos(6), Cmos(7), Cmos(8), Cmos(9), Cmos(0x32)];

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
