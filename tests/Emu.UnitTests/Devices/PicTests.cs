using Emu.Machine.Devices.Pic;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class PicTests
{
    private readonly PicPair _pic = new();
    private readonly IoBus _bus = new();

    public PicTests()
    {
        _pic.Register(_bus);

        // The usual PC programming: master at vector 0x20, slave at 0x28, cascade on IRQ 2, 8086 mode.
        Init(0x20, 0x20, 0x04);
        Init(0xA0, 0x28, 0x02);
    }

    [Fact]
    public void AnUninitialisedPicDoesNotInterruptUntilIcw1()
    {
        var pic = new PicPair();
        var bus = new IoBus();
        pic.Register(bus);
        pic.Reset();
        pic.SetIrq(0, true);
        Assert.False(pic.HasPendingInterrupt);
        Assert.Equal(0xFFu, bus.Read(0x21, 1));

        // ICW1 clears the mask: the edge still latched in IRR interrupts at the programmed base.
        PicProgramming.Init(bus, 0x20, 0x08, 0x04);
        pic.SetIrq(0, false);
        pic.SetIrq(0, true);
        Assert.True(pic.HasPendingInterrupt);
        Assert.Equal(0x08, pic.AcknowledgeInterrupt());
    }

    [Fact]
    public void RaisedLineGivesVectorAndGoesInService()
    {
        Assert.False(_pic.HasPendingInterrupt);
        _pic.SetIrq(1, true);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x21, _pic.AcknowledgeInterrupt());
        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0x02u, ReadIsr(0x20));
        Eoi(0x20);
        Assert.Equal(0u, ReadIsr(0x20));
    }

    [Fact]
    public void LowerIrqWinsAndHigherWaitsForEoi()
    {
        _pic.SetIrq(4, true);
        _pic.SetIrq(0, true);
        Assert.Equal(0x20, _pic.AcknowledgeInterrupt());

        // IRQ 4 has lower priority than the in-service IRQ 0.
        Assert.False(_pic.HasPendingInterrupt);
        Eoi(0x20);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x24, _pic.AcknowledgeInterrupt());
    }

    [Fact]
    public void HigherPriorityNestsOverLowerInService()
    {
        _pic.SetIrq(4, true);
        Assert.Equal(0x24, _pic.AcknowledgeInterrupt());
        _pic.SetIrq(1, true);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x21, _pic.AcknowledgeInterrupt());
        Assert.Equal(0x12u, ReadIsr(0x20));

        // A non-specific EOI ends the highest-priority one in service: IRQ 1.
        Eoi(0x20);
        Assert.Equal(0x10u, ReadIsr(0x20));
    }

    [Fact]
    public void MaskedLineStaysInIrrUntilUnmasked()
    {
        _bus.Write(0x21, 1, 0x08);
        _pic.SetIrq(3, true);
        Assert.False(_pic.HasPendingInterrupt);
        Assert.Equal(0x08u, _bus.Read(0x20, 1));
        Assert.Equal(0x08u, _bus.Read(0x21, 1));
        _bus.Write(0x21, 1, 0x00);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x23, _pic.AcknowledgeInterrupt());
    }

    [Fact]
    public void SlaveIrqCascadesThroughIrq2()
    {
        _pic.SetIrq(12, true);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x2C, _pic.AcknowledgeInterrupt());
        Assert.Equal(0x10u, ReadIsr(0xA0));
        Assert.Equal(0x04u, ReadIsr(0x20));
        Eoi(0xA0);
        Eoi(0x20);
        Assert.Equal(0u, ReadIsr(0xA0));
        Assert.Equal(0u, ReadIsr(0x20));
    }

    [Fact]
    public void EdgeTriggeredNeedsANewEdge()
    {
        _pic.SetIrq(0, true);
        Assert.Equal(0x20, _pic.AcknowledgeInterrupt());
        Eoi(0x20);

        // The line is still high: no new request without a falling then rising edge.
        _pic.SetIrq(0, true);
        Assert.False(_pic.HasPendingInterrupt);
        _pic.SetIrq(0, false);
        _pic.SetIrq(0, true);
        Assert.True(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void LevelTriggeredViaElcrRequestsAgainAfterEoi()
    {
        _bus.Write(0x4D1, 1, 0x08 | 0x01);
        Assert.Equal(0x08u, _bus.Read(0x4D1, 1));
        _pic.SetIrq(11, true);
        Assert.Equal(0x2B, _pic.AcknowledgeInterrupt());
        Eoi(0xA0);
        Eoi(0x20);
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x2B, _pic.AcknowledgeInterrupt());
        Eoi(0xA0);
        Eoi(0x20);

        // The device drops its line before INTA: the master's cascade edge is latched, the slave has nothing,
        // so the CPU gets the slave's spurious IRQ 15 vector and nothing goes in service on the slave.
        _pic.SetIrq(11, false);
        Assert.Equal(0x2F, _pic.AcknowledgeInterrupt());
        Assert.Equal(0u, ReadIsr(0xA0));
        Eoi(0x20);
        Assert.False(_pic.HasPendingInterrupt);
    }

    [Fact]
    public void NothingPendingGivesSpuriousIrq7()
    {
        Assert.Equal(0x27, _pic.AcknowledgeInterrupt());
        Assert.Equal(0u, ReadIsr(0x20));
    }

    [Fact]
    public void SpecificEoiAndRotation()
    {
        _pic.SetIrq(3, true);
        _pic.SetIrq(5, true);
        Assert.Equal(0x23, _pic.AcknowledgeInterrupt());

        // Specific EOI for IRQ 3 with rotation: IRQ 3 becomes the lowest priority, IRQ 4 the highest.
        _bus.Write(0x20, 1, 0xE3);
        Assert.Equal(0x25, _pic.AcknowledgeInterrupt());
        _bus.Write(0x20, 1, 0xE5);
        _pic.SetIrq(5, false);
        _pic.SetIrq(5, true);
        _pic.SetIrq(7, true);

        // After "rotate on specific EOI 5", IRQ 6 is the highest and 5 the lowest: 7 comes before 5.
        Assert.Equal(0x27, _pic.AcknowledgeInterrupt());
    }

    [Fact]
    public void PollModeReadsAndAcknowledges()
    {
        _pic.SetIrq(6, true);
        _bus.Write(0x20, 1, 0x0C);
        Assert.Equal(0x86u, _bus.Read(0x20, 1));
        Assert.Equal(0x40u, ReadIsr(0x20));
    }

    [Fact]
    public void AutoEoiLeavesNothingInService()
    {
        _bus.Write(0x20, 1, 0x11);
        _bus.Write(0x21, 1, 0x20);
        _bus.Write(0x21, 1, 0x04);
        _bus.Write(0x21, 1, 0x03);
        _pic.SetIrq(1, true);
        Assert.Equal(0x21, _pic.AcknowledgeInterrupt());
        Assert.Equal(0u, ReadIsr(0x20));
    }

    [Fact]
    public void SetIrqFromManyThreadsLosesNoRequest()
    {
        // Mask everything, let threads toggle distinct lines, then check IRR shows every line.
        _bus.Write(0x21, 1, 0xFF);
        _bus.Write(0xA1, 1, 0xFF);
        int[] lines = [1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15];
        Parallel.ForEach(lines, irq =>
        {
            for (int i = 0; i < 1000; i++)
            {
                _pic.SetIrq(irq, true);
                _pic.SetIrq(irq, false);
            }
        });
        Assert.Equal(0xFAu, _bus.Read(0x20, 1));
        Assert.Equal(0xFEu, _bus.Read(0xA0, 1));
    }

    [Fact]
    public void StateRoundTripsPerChip()
    {
        _pic.SetIrq(4, true);
        _pic.SetIrq(9, true);
        _pic.AcknowledgeInterrupt();
        _bus.Write(0xA1, 1, 0x40);
        _bus.Write(0x4D1, 1, 0x80);
        var fresh = new PicPair();
        PicState master = DeviceStateAssert.RoundTrip(_pic.Master, fresh.Master);
        DeviceStateAssert.RoundTrip(_pic.Slave, fresh.Slave);
        Assert.Equal(0x20, master.IrqBase);
        Assert.Equal(_pic.HasPendingInterrupt, fresh.HasPendingInterrupt);
        Assert.Equal("i8259", _pic.StateSections[1].SectionName);
        Assert.Equal(1, _pic.StateSections[1].InstanceId);
    }

    [Fact]
    public void BadStateIsRefused()
    {
        _pic.SetIrq(4, true);
        DeviceStateAssert.RefusesBadLoads(_pic.Master, _pic.Master.Save() with { InitState = 4 });
        DeviceStateAssert.RefusesBadLoads(_pic.Master, _pic.Master.Save() with { Elcr = 0x01 });
    }

    private void Init(ushort port, byte vectorBase, byte icw3) => PicProgramming.Init(_bus, port, vectorBase, icw3);

    private void Eoi(ushort port) => _bus.Write(port, 1, 0x20);

    private uint ReadIsr(ushort port)
    {
        _bus.Write(port, 1, 0x0B);
        uint isr = _bus.Read(port, 1);
        _bus.Write(port, 1, 0x0A);
        return isr;
    }
}
