using Emu.Machine.Cpu;
using static Emu.UnitTests.Cpu.ProtectedModeTests;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>A translated block never runs past the CS limit: the instruction that crosses it raises #GP(0) with EIP at it.</summary>
public sealed class CodeLimitTests
{
    private const uint Limited = 0x9_0000; // below 1 MiB: byte-granular limits have 20 bits
    private const ushort LimitedCode = 0x38;

    /// <summary>CS = a 32-bit code segment with base 0 and limit <see cref="Limited"/> + <paramref name="room"/>.</summary>
    private static CpuTestMachine BuildLimited(uint room)
    {
        CpuTestMachine m = Build();
        m.Memory.WriteU64(Gdt + LimitedCode, Descriptor(0, Limited + room, 0x9A, 0x4));
        m.Cpu._gdtLimit = 0x3F;
        Gate(m, 13, Handler, 0);
        m.Load(32, Handler, a =>
        {
            a.pop(eax);
            a.mov(__dword_ptr[Result], eax);         // error code
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[Result + 4], eax);     // faulting EIP
            a.mov(eax, __dword_ptr[esp + 4]);
            a.mov(__dword_ptr[Result + 8], eax);     // faulting CS
            a.hlt();
        });
        m.Load(32, Code, a =>
        {
            a.push(LimitedCode);
            a.push(Limited);
            a.retf();
        });
        m.Memory.WriteU32(Result, 0xFFFF_FFFF);
        return m;
    }

    [Fact]
    public void InstructionCrossingTheLimitInsideABlockFaultsAtThatInstruction()
    {
        using CpuTestMachine m = BuildLimited(0x0F);
        m.Load(32, Limited, a =>
        {
            a.mov(eax, 1);    // bytes 0-4
            a.mov(ebx, 2);    // 5-9
            a.mov(ecx, 3);    // 10-14
            a.mov(edx, 4);    // 15-19: crosses the limit at byte 15
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(0u, m.Memory.ReadU32(Result));
        Assert.Equal(Limited + 15, m.Memory.ReadU32(Result + 4));
        Assert.Equal((uint)LimitedCode, m.Memory.ReadU32(Result + 8));
        Assert.Equal(2u, m.Cpu._gpr[X86Cpu.RegEbx]);
        Assert.Equal(3u, m.Cpu._gpr[X86Cpu.RegEcx]);
    }

    [Fact]
    public void BlockThatBranchesAwayBeforeTheLimitRunsNormally()
    {
        using CpuTestMachine m = BuildLimited(0x0F);
        m.Load(32, Limited, a =>
        {
            var done = a.CreateLabel();
            a.mov(ecx, 5);            // bytes 0-4
            a.jmp(done);              // 5-6
            a.Label(ref done);
            a.hlt();                  // 7
            a.mov(edx, 4);            // 8-12, never runs
            a.mov(edx, 5);            // 13-17, past the limit, never runs
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(0xFFFF_FFFFu, m.Memory.ReadU32(Result));
        Assert.Equal(5u, m.Cpu._gpr[X86Cpu.RegEcx]);
    }
}
