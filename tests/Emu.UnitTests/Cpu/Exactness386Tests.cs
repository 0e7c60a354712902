using Emu.Machine.Cpu;
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
}
