using Emu.Machine.Board;
using Emu.Machine.Devices.Apic;
using Emu.Machine.Devices.Pic;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Emu.Machine.State;

namespace Emu.UnitTests.Devices;

/// <summary>The local xAPIC's registers, priorities, IPIs to itself, timer and LINT0 path, as the SDM and QEMU have them.</summary>
public sealed class LocalApicTests
{
    private const ulong Base = 0xFEE0_0000;
    private const ulong EnabledBase = Base | 0x900;

    private readonly VirtualClock _clock = new();
    private readonly PicPair _pic = new();
    private readonly IoBus _bus = new();
    private readonly AddressSpace _memory = new();
    private readonly LocalApic _apic;
    private int _nmis;

    public LocalApicTests()
    {
        _pic.Register(_bus);
        _apic = new LocalApic(0, _clock, _pic, _memory) { NmiRaised = () => _nmis++ };
        _apic.ApicBaseChanged(EnabledBase);
    }

    private uint Read(int reg) => (uint)_memory.Resolve(Base + (ulong)reg)!.Device!.MmioRead((ulong)reg, 4);

    private void Write(int reg, uint value) => _memory.Resolve(Base + (ulong)reg)!.Device!.MmioWrite((ulong)reg, 4, value);

    private void Enable() => Write(0xF0, 0x1FF);

    [Fact]
    public void ResetStateMatchesAP6ApicAtPowerOn()
    {
        Assert.Equal(0u, Read(0x20));
        Assert.Equal(0x0005_0014u, Read(0x30));
        Assert.Equal(0xFFu, Read(0xF0));                // software-disabled, spurious vector 0xFF
        Assert.Equal(0xFFFF_FFFFu, Read(0xE0));          // flat model
        Assert.Equal(0x0001_0000u, Read(0x320));         // timer masked
        Assert.Equal(0x0000_0700u, Read(0x350));         // the BSP's LINT0: ExtINT, as QEMU
        Assert.Equal(0x0001_0000u, Read(0x360));
    }

    [Fact]
    public void SelfIpiIsDeliveredAndEoiClearsTheInServiceBit()
    {
        Enable();
        Write(0x300, 0x0004_0040);                       // self shorthand, fixed, vector 0x40
        Assert.Equal(0u, Read(0x300) & (1u << 12));      // never busy
        Assert.Equal(1u, Read(0x220) & 1);               // IRR bit 0x40
        Assert.True(_apic.HasPendingInterrupt);
        Assert.Equal(0x40, _apic.AcknowledgeInterrupt());
        Assert.Equal(1u, Read(0x120) & 1);               // ISR bit 0x40
        Assert.Equal(0x40u, Read(0xA0));                 // PPR is the in-service class
        Assert.False(_apic.HasPendingInterrupt);
        Write(0xB0, 0);
        Assert.Equal(0u, Read(0x120));
        Assert.Equal(0u, Read(0xA0));
    }

    [Fact]
    public void PhysicalDestinationOfItsOwnIdReachesItself()
    {
        Enable();
        Write(0x310, 0);                                  // destination APIC ID 0
        Write(0x300, 0x51);
        Assert.Equal(0x51, _apic.AcknowledgeInterrupt());
        Write(0x310, 5u << 24);                           // another APIC: nobody here
        Write(0x300, 0x52);
        Assert.False(_apic.HasPendingInterrupt);
    }

    [Fact]
    public void TaskPriorityHoldsBackInterruptsOfItsClassAndBelow()
    {
        Enable();
        Write(0x80, 0x50);
        Write(0x300, 0x0004_0045);
        Assert.False(_apic.HasPendingInterrupt);          // class 4 ≤ TPR class 5
        Write(0x300, 0x0004_0061);
        Assert.True(_apic.HasPendingInterrupt);
        Assert.Equal(0x61, _apic.AcknowledgeInterrupt());
        Write(0xB0, 0);
        Write(0x80, 0);
        Assert.Equal(0x45, _apic.AcknowledgeInterrupt());
    }

    [Fact]
    public void AHigherClassNestsAndALowerWaitsForEoi()
    {
        Enable();
        Write(0x300, 0x0004_0050);
        Assert.Equal(0x50, _apic.AcknowledgeInterrupt());
        Write(0x300, 0x0004_0030);
        Assert.False(_apic.HasPendingInterrupt);
        Write(0x300, 0x0004_0070);
        Assert.Equal(0x70, _apic.AcknowledgeInterrupt());
        Write(0xB0, 0);                                   // EOI ends 0x70, the highest in service
        Assert.Equal(1u, (Read(0x120) >> 16) & 1);        // 0x50 still in service
        Assert.False(_apic.HasPendingInterrupt);
        Write(0xB0, 0);
        Assert.Equal(0x30, _apic.AcknowledgeInterrupt());
    }

    [Fact]
    public void ASoftwareDisabledApicDeliversNothingFixedAndMasksItsLvt()
    {
        Write(0x300, 0x0004_0040);
        Assert.False(_apic.HasPendingInterrupt);
        Write(0x320, 0x40);
        Assert.Equal(0x0001_0040u, Read(0x320));          // the mask stays while software-disabled
    }

    [Fact]
    public void AnIllegalVectorIsAnErrorLatchedByAWriteToTheEsr()
    {
        Enable();
        Write(0x370, 0xE0);                               // error LVT: vector 0xE0
        Write(0x300, 0x0004_0003);
        Assert.Equal(0u, Read(0x280));                    // not latched yet
        Write(0x280, 0);
        Assert.Equal(1u << 5, Read(0x280));               // send illegal vector
        Assert.Equal(0xE0, _apic.AcknowledgeInterrupt()); // the error interrupt
        Write(0x280, 0);
        Assert.Equal(0u, Read(0x280));
    }

    [Fact]
    public void OneShotTimerCountsDownAtTheDividedBusClockAndFiresOnce()
    {
        Enable();
        Write(0x3E0, 0xB);                                // divide by 1
        Write(0x320, 0x60);                               // one-shot, vector 0x60
        Write(0x380, 1000);
        _clock.Set(400);
        Assert.Equal(600u, Read(0x390));
        _clock.RunDueTimers();
        Assert.False(_apic.HasPendingInterrupt);
        _clock.Set(1001);
        _clock.RunDueTimers();
        Assert.Equal(0x60, _apic.AcknowledgeInterrupt());
        Assert.Equal(0u, Read(0x390));
        Write(0xB0, 0);
        _clock.Set(5000);
        _clock.RunDueTimers();
        Assert.False(_apic.HasPendingInterrupt);
    }

    [Fact]
    public void PeriodicTimerReloadsAndDivideScalesTheCount()
    {
        Enable();
        Write(0x3E0, 0x1);                                // divide by 4
        Write(0x320, 0x2_0070);                           // periodic, vector 0x70
        Write(0x380, 100);                                // a period of 101 × 4 ns
        int fired = 0;
        for (long t = 0; t <= 4040; t += 10)
        {
            _clock.Set(t);
            _clock.RunDueTimers();
            if (_apic.HasPendingInterrupt)
            {
                Assert.Equal(0x70, _apic.AcknowledgeInterrupt());
                Write(0xB0, 0);
                fired++;
            }
        }

        Assert.Equal(10, fired);
        _clock.Set(4040 + 200);
        Assert.Equal(100u - 50, Read(0x390));
    }

    [Fact]
    public void AMaskedTimerCountsButDoesNotInterrupt()
    {
        Enable();
        Write(0x3E0, 0xB);
        Write(0x320, 0x1_0060);
        Write(0x380, 10);
        _clock.Set(100);
        _clock.RunDueTimers();
        Assert.False(_apic.HasPendingInterrupt);
        Assert.Equal(0u, Read(0x390));
    }

    [Fact]
    public void LintZeroPassesThe8259OnlyAsUnmaskedExtInt()
    {
        PicProgramming.Init(_bus, 0x20, 0x20, 0x04);
        _pic.SetIrq(1, true);
        Assert.True(_apic.HasPendingInterrupt);           // reset LINT0 = ExtINT
        Enable();
        Write(0x350, 0x1_0700);                           // masked
        Assert.False(_apic.HasPendingInterrupt);
        Write(0x350, 0x700);
        Assert.Equal(0x21, _apic.AcknowledgeInterrupt());
    }

    [Fact]
    public void AGloballyDisabledApicUnmapsAndHandsInterruptsToThe8259()
    {
        Enable();
        Write(0x350, 0x1_0700);
        PicProgramming.Init(_bus, 0x20, 0x20, 0x04);
        _pic.SetIrq(3, true);
        Assert.False(_apic.HasPendingInterrupt);
        _apic.ApicBaseChanged(Base | 0x100);              // enable bit clear
        Assert.Null(_memory.Resolve(Base));
        Assert.True(_apic.HasPendingInterrupt);
        Assert.Equal(0x23, _apic.AcknowledgeInterrupt());
    }

    [Fact]
    public void MovingTheBaseMovesTheWindow()
    {
        _apic.ApicBaseChanged(0xFED0_0900);
        Assert.Null(_memory.Resolve(Base));
        Assert.NotNull(_memory.Resolve(0xFED0_0030));
    }

    [Fact]
    public void NmiIpiAndLintOneRaiseTheNmiPin()
    {
        Enable();
        Write(0x300, 0x0004_0400);                        // self, delivery mode NMI
        Assert.Equal(1, _nmis);
        Write(0x360, 0x400);                              // LINT1: NMI
        _apic.SetLint1(true);
        _apic.SetLint1(true);                             // an edge, not a level
        Assert.Equal(2, _nmis);
    }

    [Fact]
    public void StateRoundTripsWithTheTimerArmed()
    {
        Enable();
        Write(0x80, 0x20);
        Write(0x300, 0x0004_0090);
        Write(0x3E0, 0xB);
        Write(0x320, 0x2_0080);
        Write(0x380, 500);
        var w = new ByteStateWriter();
        ((IVmStateDevice)_apic).SaveState(w);

        var memory = new AddressSpace();
        var clock = new VirtualClock();
        var other = new LocalApic(0, clock, new PicPair(), memory);
        other.ApicBaseChanged(EnabledBase);
        ((IVmStateDevice)other).LoadState(new ByteStateReader(w.ToArray()), LocalApicState.Vmsd.Version);
        Assert.Equal(_apic.Save() with { }, other.Save(), new StateComparer());
        Assert.True(other.HasPendingInterrupt);
        Assert.Equal(0x90, other.AcknowledgeInterrupt());
        clock.Set(600);
        Assert.Equal(500u - 99, other.MmioRead(0x390, 4));
    }

    private sealed class StateComparer : IEqualityComparer<LocalApicState>
    {
        public bool Equals(LocalApicState? a, LocalApicState? b) =>
            a != null && b != null && a.Tpr == b.Tpr && a.SpuriousVector == b.SpuriousVector && a.Irr.SequenceEqual(b.Irr)
            && a.Isr.SequenceEqual(b.Isr) && a.Lvt.SequenceEqual(b.Lvt) && a.InitialCount == b.InitialCount
            && a.CountShift == b.CountShift && a.TimerExpiry == b.TimerExpiry && a.NextTime == b.NextTime;

        public int GetHashCode(LocalApicState s) => s.Tpr;
    }
}
