using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>
/// Self-modifying code under tier 2: a compiled block that stores into its own next instruction must leave right after
/// the store (its compiled code dropped with the block) so the next instruction runs as rewritten.
/// </summary>
public sealed class CompiledSelfModifyingCodeTests
{
    private const uint Code = 0x10_0000;
    private const uint Data = 0x20_0000;

    [Fact]
    public void ABlockThatRewritesItsNextInstructionEveryPassRunsTheNewCode()
    {
        // Threshold 0: every fresh translation of the loop is compiled before it runs, then invalidated by its own store.
        using var m = new CpuTestMachine(options: new CpuOptions(JitThreshold: 0, JitInBackground: false));
        uint immediateAt = Code + (uint)m.Load(32, Code, a => RewriteEveryPass(a, 0, upToStore: true)).Length + 1;
        m.Load(32, Code, a => RewriteEveryPass(a, immediateAt, upToStore: false));
        m.Cpu.EnterMultiboot(Code, 0, 0);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());

        // Each pass stores ECX into the immediate of MOV EBX and adds EBX: 100 + 99 + … + 1.
        Assert.Equal(5050u, m.Cpu._gpr[X86Cpu.RegEsi]);
        Assert.True(m.Cpu.BlocksCompiled >= 100, $"tier 2 compiled {m.Cpu.BlocksCompiled} blocks, not one per pass");
    }

    [Fact]
    public void ACompiledLoopThatRewritesItsNextInstructionOnItsLastPassRunsTheNewCode()
    {
        // The loop is compiled after two passes and then loops inside its compiled code until the last pass stores.
        using var m = new CpuTestMachine(options: new CpuOptions(JitThreshold: 2, JitInBackground: false));
        uint immediateAt = Code + (uint)m.Load(32, Code, a => RewriteOnLastPass(a, 0, upToStore: true)).Length + 1;
        m.Load(32, Code, a => RewriteOnLastPass(a, immediateAt, upToStore: false));
        m.Cpu.EnterMultiboot(Code, 0, 0);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());

        // Passes 200..2 add 1; on pass 1 the store turns MOV EBX, 1 into MOV EBX, 0x40 before it runs.
        Assert.Equal(199u + 0x40, m.Cpu._gpr[X86Cpu.RegEsi]);
        Assert.Equal(0x40u, m.Memory.ReadU8(immediateAt));
        Assert.True(m.Cpu.BlocksCompiled > 0, "tier 2 compiled nothing");
    }

    private static void RewriteEveryPass(Assembler a, uint immediateAt, bool upToStore)
    {
        Label top = a.CreateLabel();
        a.mov(ecx, 100);
        a.xor(esi, esi);
        a.Label(ref top);
        a.mov(edx, ecx);
        a.mov(__dword_ptr[immediateAt], edx);
        if (upToStore)
        {
            return;
        }

        a.mov(ebx, 0x1111_1111);
        a.add(esi, ebx);
        a.dec(ecx);
        a.jnz(top);
        a.hlt();
    }

    /// <summary>One block: the store goes to data, except on the last pass (ECX = 1) into the next instruction's immediate.</summary>
    private static void RewriteOnLastPass(Assembler a, uint immediateAt, bool upToStore)
    {
        Label top = a.CreateLabel();
        a.mov(ecx, 200);
        a.xor(esi, esi);
        a.mov(edx, 0x40);
        a.mov(ebp, immediateAt);
        a.Label(ref top);
        a.mov(edi, Data);
        a.cmp(ecx, 1);
        a.cmove(edi, ebp);
        a.mov(__byte_ptr[edi], dl);
        if (upToStore)
        {
            return;
        }

        a.mov(ebx, 1);
        a.add(esi, ebx);
        a.dec(ecx);
        a.jnz(top);
        a.hlt();
    }
}
