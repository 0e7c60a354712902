using Emu.Machine.Cpu;
using static Emu.UnitTests.Cpu.ProtectedModeTests;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>x87: constants, FXCH, integer loads/stores of every size, compare → FNSTSW AX → SAHF, the 80-bit format, FSAVE/FRSTOR, FSTENV/FLDENV.</summary>
public sealed class FpuTests
{
    private const uint Data = 0x7000, Save = 0x7400;

    private static CpuTestMachine Run(Action<Iced.Intel.Assembler> code)
    {
        CpuTestMachine m = Build();
        m.Load(32, Code, a =>
        {
            a.fninit();
            code(a);
            a.hlt();
        });
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        return m;
    }

    private static double ReadDouble(CpuTestMachine m, uint address) => BitConverter.UInt64BitsToDouble(m.Memory.ReadU64(address));

    [Fact]
    public void ConstantsExchangeAndIntegerStoresOfEverySize()
    {
        using CpuTestMachine m = Run(a =>
        {
            a.fldpi();
            a.fldz();
            a.fxch(st0, st1);                              // ST0 = pi, ST1 = 0
            a.fst(__qword_ptr[Data]);
            a.fistp(__word_ptr[Data + 8]);             // 3
            a.fstp(st0);
            a.fldln2();
            a.fstp(__qword_ptr[Data + 16]);
            a.mov(__dword_ptr[Data + 24], unchecked((uint)-123456));
            a.fild(__dword_ptr[Data + 24]);
            a.fistp(__qword_ptr[Data + 32]);
            a.mov(__dword_ptr[Data + 40], 100_000);
            a.fild(__dword_ptr[Data + 40]);
            a.fistp(__word_ptr[Data + 44]);            // out of range: integer indefinite
        });

        Assert.Equal(Math.PI, ReadDouble(m, Data));
        Assert.Equal(3, m.Memory.ReadU16(Data + 8));
        Assert.Equal(Math.Log(2), ReadDouble(m, Data + 16), 15);
        Assert.Equal(-123456L, (long)m.Memory.ReadU64(Data + 32));
        Assert.Equal(0x8000, m.Memory.ReadU16(Data + 44));
    }

    [Theory]
    [InlineData(2.0, 1.0, 0)]   // greater: CF=0 ZF=0
    [InlineData(1.0, 2.0, 1)]   // less: CF=1
    [InlineData(2.0, 2.0, 2)]   // equal: ZF=1
    public void CompareThroughFnstswAndSahfSetsCpuFlags(double st0, double st1, int expected)
    {
        using CpuTestMachine m = Build();
        m.Memory.WriteU64(Data, BitConverter.DoubleToUInt64Bits(st1));
        m.Memory.WriteU64(Data + 8, BitConverter.DoubleToUInt64Bits(st0));
        m.Load(32, Code, a =>
        {
            a.fninit();
            a.fld(__qword_ptr[Data]);
            a.fld(__qword_ptr[Data + 8]);
            a.fcompp();
            a.fnstsw(ax);
            a.sahf();
            a.setb(bl);
            a.sete(bh);
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        uint ebx = m.Cpu._gpr[X86Cpu.RegEbx];
        Assert.Equal(expected == 1 ? 1u : 0u, ebx & 0xFF);
        Assert.Equal(expected == 2 ? 1u : 0u, (ebx >> 8) & 0xFF);
    }

    [Fact]
    public void ExtendedRealRoundTripsThroughMemory()
    {
        using CpuTestMachine m = Build();
        m.Memory.WriteU64(Data, BitConverter.DoubleToUInt64Bits(-1.5));
        m.Load(32, Code, a =>
        {
            a.fninit();
            a.fld(__qword_ptr[Data]);
            a.fstp(__tword_ptr[Data + 16]);
            a.fld(__tword_ptr[Data + 16]);
            a.fstp(__qword_ptr[Data + 32]);
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0xC000_0000_0000_0000UL, m.Memory.ReadU64(Data + 16));
        Assert.Equal(0xBFFF, m.Memory.ReadU16(Data + 24));
        Assert.Equal(-1.5, ReadDouble(m, Data + 32));
    }

    [Fact]
    public void FnsaveResetsTheFpuAndFrstorBringsTheStackBack()
    {
        using CpuTestMachine m = Run(a =>
        {
            a.fld1();
            a.fldpi();
            a.fnsave(__[Save]);
            a.fnstsw(__word_ptr[Data]);                // after FNSAVE: initialized, TOP = 0
            a.fnstcw(__word_ptr[Data + 2]);
            a.frstor(__[Save]);
            a.fstp(__qword_ptr[Data + 8]);             // pi
            a.fstp(__qword_ptr[Data + 16]);            // 1
        });

        Assert.Equal(0x037Fu, m.Memory.ReadU32(Save) & 0xFFFF);
        Assert.Equal(6u << 11, m.Memory.ReadU32(Save + 4) & 0x3800);       // TOP = 6 with two values pushed
        Assert.Equal(0x0FFFu, m.Memory.ReadU32(Save + 8) & 0xFFFF);       // tags: ST0/ST1 (physical 6, 7) valid
        Assert.Equal(0xC90F_DAA2_2168_C000UL, m.Memory.ReadU64(Save + 28)); // ST0 = pi as an 80-bit mantissa (53 bits)
        Assert.Equal(0, m.Memory.ReadU16(Data));
        Assert.Equal(0x037F, m.Memory.ReadU16(Data + 2));
        Assert.Equal(Math.PI, ReadDouble(m, Data + 8));
        Assert.Equal(1.0, ReadDouble(m, Data + 16));
    }

    [Fact]
    public void FldenvRestoresTheRoundingModeStoredByFnstenv()
    {
        using CpuTestMachine m = Build();
        m.Memory.WriteU16(Data, 0x0F7F);                                    // RC = toward zero
        m.Memory.WriteU64(Data + 8, BitConverter.DoubleToUInt64Bits(-2.7));
        m.Load(32, Code, a =>
        {
            a.fninit();
            a.fldcw(__word_ptr[Data]);
            a.fnstenv(__[Save]);
            a.fninit();
            a.fldenv(__[Save]);
            a.fld(__qword_ptr[Data + 8]);
            a.fistp(__dword_ptr[Data + 16]);
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0x0F7Fu, m.Memory.ReadU32(Save) & 0xFFFF);
        Assert.Equal(-2, (int)m.Memory.ReadU32(Data + 16));
    }
}
