using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>
/// Chaining under tier 2: a compiled block whose successor is compiled runs it without returning to the dispatcher,
/// and stops wherever the dispatcher would have stopped (budget, exit request), with the same state as tier 1.
/// </summary>
public sealed class CompiledBlockChainingTests
{
    private const uint Code = 0x10_0000;
    private const uint Data = 0x20_0000;
    private const uint Passes = 2_000_000;

    [Fact]
    public void ALoopOverTwoCompiledBlocksRunsChainedToTheEnd()
    {
        using var m = new CpuTestMachine(options: new CpuOptions(JitThreshold: 0, JitInBackground: false));
        m.Load(32, Code, a => TwoBlockLoop(a, Passes));
        m.Cpu.EnterMultiboot(Code, 0, 0);

        // Millions of block-to-block transfers: each is a tail call, so the host stack stays flat.
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt(100_000_000));

        Assert.Equal(Passes, m.Cpu._gpr[X86Cpu.RegEax]);
        Assert.Equal(Passes * 3, m.Memory.ReadU32(Data));
        Assert.True(m.Cpu.BlocksChained > Passes, $"only {m.Cpu.BlocksChained} chained transfers for {Passes} passes of two blocks");
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(1_001)]
    [InlineData(1_002)]
    [InlineData(1_003)]
    [InlineData(777_777)]
    public void ChainedBlocksStopAtTheBudgetExactlyWhereTier1Stops(long budget)
    {
        using var interpreted = new CpuTestMachine(options: CpuOptions.InterpreterOnly);
        using var compiled = new CpuTestMachine(options: new CpuOptions(JitThreshold: 0, JitInBackground: false));
        foreach (CpuTestMachine m in new[] { interpreted, compiled })
        {
            m.Load(32, Code, a => TwoBlockLoop(a, Passes));
            m.Cpu.EnterMultiboot(Code, 0, 0);
            Assert.Equal(CpuExitKind.BudgetExhausted, m.Cpu.Run(budget));
        }

        Assert.Equal(interpreted.Cpu.InstructionsRetired, compiled.Cpu.InstructionsRetired);
        Assert.Equal(interpreted.Cpu._eip, compiled.Cpu._eip);
        Assert.Equal(interpreted.Cpu._gpr, compiled.Cpu._gpr);
        Assert.Equal(interpreted.Memory.ReadU32(Data), compiled.Memory.ReadU32(Data));
        Assert.True(compiled.Cpu.BlocksChained > 0 || budget < 10, "tier 2 never chained");
    }

    [Fact]
    public void AnExitRequestStopsAChainedLoop()
    {
        using var m = new CpuTestMachine(options: new CpuOptions(JitThreshold: 0, JitInBackground: false));
        m.Load(32, Code, a => TwoBlockLoop(a, uint.MaxValue));
        m.Cpu.EnterMultiboot(Code, 0, 0);
        using var timer = new Timer(_ => m.Cpu.RequestExit(), null, 200, Timeout.Infinite);

        // Without the request the loop would run the whole budget (tens of seconds); chained code must see it.
        Assert.Equal(CpuExitKind.ExitRequested, m.Cpu.Run(20_000_000_000));
        Assert.True(m.Cpu.BlocksChained > 0, "tier 2 never chained");
    }

    /// <summary>Block A adds to memory and jumps to block B, which counts and branches back to A.</summary>
    private static void TwoBlockLoop(Assembler a, uint passes)
    {
        Label blockA = a.CreateLabel();
        Label blockB = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(ebx, Data);
        a.Label(ref blockA);
        a.add(__dword_ptr[ebx], 3);
        a.jmp(blockB);
        a.nop();
        a.Label(ref blockB);
        a.inc(eax);
        a.cmp(eax, passes);
        a.jne(blockA);
        a.hlt();
    }
}
