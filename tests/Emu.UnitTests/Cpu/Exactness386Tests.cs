using Emu.Machine.Cpu;
using static Iced.Intel.AssemblerRegisters;
using static Emu.UnitTests.Cpu.ProtectedModeTests;

namespace Emu.UnitTests.Cpu;

/// <summary>386 behaviours that probes found wrong (issue 15), each with its instruction bytes, as QEMU computes them.</summary>
public sealed class Exactness386Tests
{
    private static CpuTestMachine Run(byte[] code, Action<CpuTestMachine> setup)
    {
        CpuTestMachine m = Build();
        m.Memory.LoadImage(Code, [.. code, 0xF4]);
        setup(m);
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        return m;
    }

    [Fact]
    public void AasWithAuxiliaryCarryAndAlBelowSixBorrowsIntoAh()
    {
        // 9E = sahf (AH=0x10: AF=1), then 3F = aas with AX = 0x0205: AX-6 = 0x01FF, AH-1 → 0x00FF, AL&0F → 0x000F.
        using CpuTestMachine m = Run([0xB4, 0x10, 0x9E, 0x66, 0xB8, 0x05, 0x02, 0x3F], m => m.Cpu._gpr[X86Cpu.RegEax] = 0x1234_0000);
        Assert.Equal(0x1234_000Fu, m.Cpu._gpr[X86Cpu.RegEax]);
        Assert.True(m.Cpu.GetCf());
    }

    [Fact]
    public void AaaWithAlAboveF9CarriesIntoAh()
    {
        // 66 B8 FA 01 = mov ax, 0x01FA; 37 = aaa: AL > 9 → AX+0x106 = 0x0300, AL&0F → 0x0300.
        using CpuTestMachine m = Run([0x66, 0xB8, 0xFA, 0x01, 0x37], _ => { });
        Assert.Equal(0x0300u, m.Cpu._gpr[X86Cpu.RegEax] & 0xFFFF);
        Assert.True(m.Cpu.GetCf());
    }

    [Fact]
    public void AnInstructionStraddlingIpFfffInRealModeWrapsToCsZero()
    {
        // At CS=0x1000, IP=0xFFFF: B7 at 1000:FFFF, its immediate 88 at 1000:0000 (not at 0x20000): mov bh, 0x88.
        using var m = new CpuTestMachine();
        m.Memory.LoadImage(0x1FFFF, [0xB7]);
        m.Memory.LoadImage(0x10000, [0x88, 0xF4]);
        m.Memory.LoadImage(0x20000, [0x00]);
        m.Cpu.LoadRealSegment(X86Cpu.SegCs, 0x1000);
        m.Cpu._eip = 0xFFFF;
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0x88u, (m.Cpu._gpr[X86Cpu.RegEbx] >> 8) & 0xFF);
    }

    /// <summary>Flat ring 0 with a 16-bit (B=0) data segment at 0x38: base 0x20000, limit 64 KiB, for a 16-bit stack.</summary>
    private static CpuTestMachine SixteenBitStack(byte[] code, Action<CpuTestMachine> setup)
    {
        CpuTestMachine m = Build();
        m.Memory.WriteU64(Gdt + 0x38, Descriptor(0x20000, 0xFFFF, 0x92, 0x0));
        m.Cpu._gdtLimit = 0x3F;
        // 66 B8 38 00 = mov ax, 0x38; 8E D0 = mov ss, ax (a 16-bit stack from here on).
        m.Memory.LoadImage(Code, [0x66, 0xB8, 0x38, 0x00, 0x8E, 0xD0, .. code, 0xF4]);
        setup(m);
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        return m;
    }

    [Fact]
    public void O32PopSsStepsTheStackPointerByTheOldStacksSize()
    {
        // BC FC FF 02 00 = mov esp, 0x0002FFFC; 17 = pop ss (o32) loading 0x10, a 32-bit (B=1) segment: SP wraps
        // 0xFFFC → 0x0000 as the old 16-bit stack's pointer, ESP's upper half stays (0x00020000, not 0x00030000).
        using CpuTestMachine m = SixteenBitStack([0xBC, 0xFC, 0xFF, 0x02, 0x00, 0x17], m => m.Memory.WriteU32(0x2FFFC, KernelData));
        Assert.Equal(0x0002_0000u, m.Cpu._gpr[X86Cpu.RegEsp]);
        Assert.Equal(KernelData, m.Cpu._seg[X86Cpu.SegSs].Selector);
    }

    [Fact]
    public void O32EnterOnASixteenBitStackWritesBpOnly()
    {
        // BC 00 00 01 00 = mov esp, 0x00010000 (SP 0); BD 00 10 01 00 = mov ebp, 0x00011000; C8 08 00 24 = enter 8, 36.
        // The frame pointer is SP after pushing EBP, 0xFFFC; only BP takes it: EBP = 0x0001FFFC.
        using CpuTestMachine m = SixteenBitStack([0xBC, 0x00, 0x00, 0x01, 0x00, 0xBD, 0x00, 0x10, 0x01, 0x00, 0xC8, 0x08, 0x00, 0x24], _ => { });
        Assert.Equal(0x0001_FFFCu, m.Cpu._gpr[X86Cpu.RegEbp]);
        Assert.Equal(0x0001_FFE4u, m.Cpu._gpr[X86Cpu.RegEsp]); // 4 pushes of EBP copies and the frame pointer, then 8 bytes
    }

    [Fact]
    public void RcrByAnImmediateCountAboveOneSetsOfFromTheSignChange()
    {
        // B0 00 = mov al, 0; F9 = stc; C0 D8 02 = rcr al, 2: 0x00 → 0x80 → 0x40, CF 0. The sign did not change: OF 0
        // (the by-1 rule applied to the first step, MSB ^ CF = 1, is what a 386 does not do).
        using CpuTestMachine m = Run([0xB0, 0x00, 0xF9, 0xC0, 0xD8, 0x02], _ => { });
        Assert.Equal(0x40u, m.Cpu._gpr[X86Cpu.RegEax] & 0xFF);
        Assert.Equal(0u, m.Cpu.GetEflags() & (X86Cpu.FlagCf | X86Cpu.FlagOf));
    }

    [Fact]
    public void RclByAnImmediateCountAboveOneSetsOfFromTheSignChange()
    {
        // B0 40 = mov al, 0x40; F8 = clc; C0 D0 02 = rcl al, 2: 0x40 → 0x80 → 0x00, CF 1. Sign 0 → 0: OF 0.
        using CpuTestMachine m = Run([0xB0, 0x40, 0xF8, 0xC0, 0xD0, 0x02], _ => { });
        Assert.Equal(0x00u, m.Cpu._gpr[X86Cpu.RegEax] & 0xFF);
        Assert.Equal(X86Cpu.FlagCf, m.Cpu.GetEflags() & (X86Cpu.FlagCf | X86Cpu.FlagOf));
    }

    [Fact]
    public void RcrByAMultipleOfNineOnABytesLeavesEveryFlag()
    {
        // 31 C0 = xor eax, eax (OF 0, CF 0); B0 80 = mov al, 0x80; C0 D8 09 = rcr al, 9: through CF a byte rotates
        // in 9 steps, so nothing changes, OF included.
        using CpuTestMachine m = Run([0x31, 0xC0, 0xB0, 0x80, 0xC0, 0xD8, 0x09], _ => { });
        Assert.Equal(0x80u, m.Cpu._gpr[X86Cpu.RegEax] & 0xFF);
        Assert.Equal(0u, m.Cpu.GetEflags() & (X86Cpu.FlagCf | X86Cpu.FlagOf));
    }

    [Theory]
    [InlineData(new byte[] { 0xB8, 0x00, 0x00, 0x00, 0x80, 0xC1, 0xE8, 0x02 }, 0x2000_0000u)] // shr eax, 2 (the register fast path)
    [InlineData(new byte[] { 0x66, 0xB8, 0x00, 0x80, 0x66, 0xC1, 0xE8, 0x02 }, 0x2000u)] // shr ax, 2
    public void ShrByMoreThanOneClearsOf(byte[] code, uint expected)
    {
        using CpuTestMachine m = Run(code, _ => { });
        Assert.Equal(expected, m.Cpu._gpr[X86Cpu.RegEax] & (expected > 0xFFFF ? 0xFFFF_FFFF : 0xFFFF));
        Assert.Equal(0u, m.Cpu.GetEflags() & X86Cpu.FlagOf);
    }

    [Fact]
    public void ShldByMoreThanOneSetsOfFromTheLastStep()
    {
        // B8 00 00 00 40 = mov eax, 0x40000000; 31 DB = xor ebx, ebx; 0F A4 D8 02 = shld eax, ebx, 2:
        // 0x40000000 → 0x80000000 → 0: the last step changed the sign (OF 1) and shifted out a 1 (CF 1).
        using CpuTestMachine m = Run([0xB8, 0x00, 0x00, 0x00, 0x40, 0x31, 0xDB, 0x0F, 0xA4, 0xD8, 0x02], _ => { });
        Assert.Equal(0u, m.Cpu._gpr[X86Cpu.RegEax]);
        Assert.Equal(X86Cpu.FlagCf | X86Cpu.FlagOf, m.Cpu.GetEflags() & (X86Cpu.FlagCf | X86Cpu.FlagOf));
    }

    [Fact]
    public void EnterAtCpl3WhoseFrameReachesASupervisorPageFaults()
    {
        // Page 0x300 is supervisor-only. ESP = 0x301004: the push of EBP lands in the user page 0x301, but the new
        // top of stack 0x300FFF, which ENTER write-checks, does not: #PF (present, write, user) with CR2 0x300FFF,
        // and the faulting ENTER's ESP is what the handler sees.
        using CpuTestMachine m = Build();
        EnterRing3(m, UserPagingWithSupervisorPage(m), a =>
        {
            a.mov(esp, 0x30_1004);
            a.enter(1, 0);
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(7u, m.Memory.ReadU32(Result));
        Assert.Equal(0x30_0FFFu, m.Memory.ReadU32(Result + 4));
        Assert.Equal(0x30_1004u, m.Memory.ReadU32(Result + 8));
    }
}
