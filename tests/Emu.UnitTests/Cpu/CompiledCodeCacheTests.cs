using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>Tier 2's code cache is bounded: past its capacity the oldest compiled block goes back to tier 1.</summary>
public sealed class CompiledCodeCacheTests
{
    private const uint Code = 0x10_0000;

    [Fact]
    public void MoreHotBlocksThanTheCacheHoldsEvictTheOldestAndStillRunRight()
    {
        const int blocks = 64, passes = 5;
        using var m = new CpuTestMachine(options: new CpuOptions(JitThreshold: 0, JitCacheBlocks: 8, JitInBackground: false));
        m.Load(32, Code, a => ChainOfBlocks(a, blocks, passes));
        m.Cpu.EnterMultiboot(Code, 0, 0);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());

        // Each pass adds 1..64 to EAX: 2080 per pass.
        Assert.Equal(2080u * passes, m.Cpu._gpr[X86Cpu.RegEax]);
        Assert.True(m.Cpu.BlocksEvicted >= (blocks * passes) - 8 - blocks, $"{m.Cpu.BlocksCompiled} compiled, {m.Cpu.BlocksEvicted} evicted");
        Assert.True(m.Cpu.BlocksCompiled - m.Cpu.BlocksEvicted <= 8, "more compiled blocks kept than the cache holds");
    }

    /// <summary>ECX passes over 64 blocks (each ADD EAX, k; JMP to the next), so each block is hot but the set is wider than the cache.</summary>
    private static void ChainOfBlocks(Assembler a, int blocks, int passes)
    {
        Label top = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(ecx, passes);
        a.Label(ref top);
        for (int k = 1; k <= blocks; k++)
        {
            Label next = a.CreateLabel();
            a.add(eax, k);
            a.jmp(next);
            a.Label(ref next);
            a.nop();
        }

        a.dec(ecx);
        a.jnz(top);
        a.hlt();
    }
}
