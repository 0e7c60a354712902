using Emu.Machine.Cpu;
using static Emu.UnitTests.Cpu.ProtectedModeTests;

namespace Emu.UnitTests.Cpu;

/// <summary>
/// What a stock Linux kernel and its user space need of the CPU, each with the instruction bytes: prefixes and
/// hint encodings a CPU without the later feature ignores, real-mode segment semantics after protected mode, the
/// CPUID Emu advertises, the microcode MSR, and the x87 integer and P6 forms busybox uses.
/// </summary>
public sealed class RealKernelExactnessTests
{
    private const uint Data = 0x7000;

    /// <summary>Runs raw 32-bit code at <see cref="ProtectedModeTests.Code"/> in flat ring 0, then HLT; #UD lands on a handler that records it.</summary>
    private static CpuTestMachine Run(byte[] code, Action<CpuTestMachine>? setup = null)
    {
        CpuTestMachine m = Build();
        Gate(m, 6, Handler, 0);
        m.Memory.LoadImage(Handler, [0xC7, 0x05, .. BitConverter.GetBytes(Result), 0x06, 0, 0, 0, 0xF4]); // mov dword [Result], 6; hlt
        m.Memory.LoadImage(Code, [.. code, 0xF4]);
        setup?.Invoke(m);
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        return m;
    }

    private static void AssertNoUd(CpuTestMachine m) => Assert.NotEqual(6u, m.Memory.ReadU32(Result));

    [Fact]
    public void RepBsfRunsAsBsfWithoutBmi1()
    {
        // F3 0F BC C1 = rep bsf eax, ecx (TZCNT on a BMI1 CPU).
        using CpuTestMachine m = Run([0xF3, 0x0F, 0xBC, 0xC1], m => m.Cpu._gpr[X86Cpu.RegEcx] = 0x50);
        AssertNoUd(m);
        Assert.Equal(4u, m.Cpu._gpr[X86Cpu.RegEax]);
        Assert.False(m.Cpu.GetZf());
    }

    [Fact]
    public void RepBsfOfZeroLeavesTheDestinationAndSetsZf()
    {
        // TZCNT would write 32 and set CF; BSF leaves EAX and sets ZF.
        using CpuTestMachine m = Run([0xF3, 0x0F, 0xBC, 0xC1], m => m.Cpu._gpr[X86Cpu.RegEax] = 0x1234);
        Assert.Equal(0x1234u, m.Cpu._gpr[X86Cpu.RegEax]);
        Assert.True(m.Cpu.GetZf());
    }

    [Fact]
    public void RepBsrRunsAsBsrWithoutLzcnt()
    {
        // F3 0F BD C1 = rep bsr eax, ecx (LZCNT on an ABM CPU, which would give 25).
        using CpuTestMachine m = Run([0xF3, 0x0F, 0xBD, 0xC1], m => m.Cpu._gpr[X86Cpu.RegEcx] = 0x50);
        AssertNoUd(m);
        Assert.Equal(6u, m.Cpu._gpr[X86Cpu.RegEax]);
    }

    [Fact]
    public void EndbrAndPrefetchHintsAreNops()
    {
        // F3 0F 1E FB = endbr32; 0F 18 00 = prefetchnta [eax]; 0F 1F 00 = nop [eax].
        using CpuTestMachine m = Run([0xF3, 0x0F, 0x1E, 0xFB, 0x0F, 0x18, 0x00, 0x0F, 0x1F, 0x00, 0xB8, 0x2A, 0, 0, 0]);
        AssertNoUd(m);
        Assert.Equal(42u, m.Cpu._gpr[X86Cpu.RegEax]);
    }

    [Fact]
    public void RealModeWritesThroughACsCacheLeftHoldingACodeSegment()
    {
        // mov eax, cr0; and al, 0xFE; mov cr0, eax (back to real mode with CS's cache still "code segment"), then
        // in 16-bit code 2E C6 06 00 20 FF = mov byte [cs:0x2000], 0xFF: real mode checks no segment type (SYSLINUX
        // does this right after returning from protected mode).
        using CpuTestMachine m = Run([0x0F, 0x20, 0xC0, 0x24, 0xFE, 0x0F, 0x22, 0xC0, 0x2E, 0xC6, 0x06, 0x00, 0x20, 0xFF]);
        Assert.Equal(0xFF, m.Memory.ReadU8(0x2000));
        Assert.Equal(0u, m.Cpu._cr0 & 1);
    }

    [Fact]
    public void CpuidAdvertisesAPentiumProWithWhatEmuImplements()
    {
        // B8 01 00 00 00 = mov eax, 1; 0F A2 = cpuid.
        using CpuTestMachine m = Run([0xB8, 0x01, 0, 0, 0, 0x0F, 0xA2]);
        Assert.Equal(0x619u, m.Cpu._gpr[X86Cpu.RegEax]); // family 6, model 1, stepping 9
        uint edx = m.Cpu._gpr[X86Cpu.RegEdx];
        Assert.Equal(X86Cpu.CpuidFeatures, edx);
        Assert.Equal(0u, edx & ((1u << 1) | (1u << 2) | (1u << 9) | (1u << 13) | (1u << 23) | (1u << 24) | (1u << 25))); // no VME, DE, APIC, PGE, MMX, FXSR, SSE
        Assert.Equal((1u << 0) | (1u << 15), edx & ((1u << 0) | (1u << 15))); // FPU and CMOV
    }

    [Fact]
    public void SettingCr4VmeIsAGeneralProtectionFault()
    {
        // B8 01 00 00 00 = mov eax, 1; 0F 22 E0 = mov cr4, eax: #GP(0), since CPUID has no VME.
        CpuTestMachine m = Build();
        Gate(m, 13, Handler, 0);
        m.Memory.LoadImage(Handler, [0xC7, 0x05, .. BitConverter.GetBytes(Result), 0x0D, 0, 0, 0, 0xF4]);
        m.Memory.LoadImage(Code, [0xB8, 0x01, 0, 0, 0, 0x0F, 0x22, 0xE0, 0xF4]);
        using (m)
        {
            Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
            Assert.Equal(13u, m.Memory.ReadU32(Result));
            Assert.Equal(0u, m.Cpu._cr4);
        }
    }

    [Fact]
    public void MicrocodeRevisionMsrTakesAWriteOfZeroAndReadsTheRevision()
    {
        // B9 8B 00 00 00 = mov ecx, 0x8b; 31 C0 = xor eax, eax; 31 D2 = xor edx, edx; 0F 30 = wrmsr; 0F 32 = rdmsr.
        using CpuTestMachine m = Run([0xB9, 0x8B, 0, 0, 0, 0x31, 0xC0, 0x31, 0xD2, 0x0F, 0x30, 0x0F, 0x32]);
        AssertNoUd(m);
        Assert.Equal(0u, m.Cpu._gpr[X86Cpu.RegEax]);
        Assert.Equal(1u, m.Cpu._gpr[X86Cpu.RegEdx]);
    }

    [Fact]
    public void FisubSubtractsAnInt32FromSt0()
    {
        // DB 05 m32 = fild dword [Data]; DA 25 m32 = fisub dword [Data+4]; DA 0D m32 = fimul dword [Data+8];
        // DB 1D m32 = fistp dword [Data+12]  →  (100 - 58) * -3 = -126.
        using CpuTestMachine m = Run(
            [0xDB, 0x05, .. BitConverter.GetBytes(Data), 0xDA, 0x25, .. BitConverter.GetBytes(Data + 4),
             0xDA, 0x0D, .. BitConverter.GetBytes(Data + 8), 0xDB, 0x1D, .. BitConverter.GetBytes(Data + 12)],
            m =>
            {
                m.Memory.WriteU32(Data, 100);
                m.Memory.WriteU32(Data + 4, 58);
                m.Memory.WriteU32(Data + 8, unchecked((uint)-3));
            });
        AssertNoUd(m);
        Assert.Equal(-126, (int)m.Memory.ReadU32(Data + 12));
    }

    [Fact]
    public void FicomComparesSt0WithAnInt16()
    {
        // DB 05 m32 = fild dword [Data]; DE 15 m16 = ficom word [Data+4]; DF E0 = fnstsw ax: 7 < 9 sets C0.
        using CpuTestMachine m = Run(
            [0xDB, 0x05, .. BitConverter.GetBytes(Data), 0xDE, 0x15, .. BitConverter.GetBytes(Data + 4), 0xDF, 0xE0],
            m =>
            {
                m.Memory.WriteU32(Data, 7);
                m.Memory.WriteU16(Data + 4, 9);
            });
        AssertNoUd(m);
        Assert.Equal(0x0100u, m.Cpu._gpr[X86Cpu.RegEax] & 0x4500);
    }

    [Theory]
    [InlineData(1, 2, true, false)]  // 1 < 2: CF
    [InlineData(2, 2, false, true)]  // equal: ZF
    [InlineData(3, 2, false, false)] // greater: neither
    public void FcomiSetsCfAndZfLikeAnIntegerCompare(int st0, int st1, bool cf, bool zf)
    {
        // fild [Data+4] (ST1 after the next load); fild [Data] (ST0); DB F1 = fcomi st0, st1.
        using CpuTestMachine m = Run(
            [0xDB, 0x05, .. BitConverter.GetBytes(Data + 4), 0xDB, 0x05, .. BitConverter.GetBytes(Data), 0xDB, 0xF1],
            m =>
            {
                m.Memory.WriteU32(Data, (uint)st0);
                m.Memory.WriteU32(Data + 4, (uint)st1);
            });
        AssertNoUd(m);
        Assert.Equal(cf, m.Cpu.GetCf());
        Assert.Equal(zf, m.Cpu.GetZf());
    }

    [Fact]
    public void FcmovbCopiesWhenCarryIsSet()
    {
        // fild [Data+4] → ST1 = 5; fild [Data] → ST0 = 1; F9 = stc; DA C1 = fcmovb st0, st1; DB 1D = fistp [Data+8].
        using CpuTestMachine m = Run(
            [0xDB, 0x05, .. BitConverter.GetBytes(Data + 4), 0xDB, 0x05, .. BitConverter.GetBytes(Data), 0xF9, 0xDA, 0xC1,
             0xDB, 0x1D, .. BitConverter.GetBytes(Data + 8)],
            m =>
            {
                m.Memory.WriteU32(Data, 1);
                m.Memory.WriteU32(Data + 4, 5);
            });
        AssertNoUd(m);
        Assert.Equal(5u, m.Memory.ReadU32(Data + 8));
    }
}
