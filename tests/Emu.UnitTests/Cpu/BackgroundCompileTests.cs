using System.Diagnostics;
using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>
/// Tier 2's compiler thread (the default): a hot block goes on in tier 1 while it compiles, and its code is installed
/// at a block boundary with nothing lost or repeated across the hand-over.
/// </summary>
public sealed class BackgroundCompileTests
{
    private const uint Code = 0x10_0000;
    private const uint Data = 0x20_0000;

    [Fact]
    public void AHotLoopMovesToCompiledCodeMadeOnTheCompilerThreadWithoutLosingAPass()
    {
        using var m = new CpuTestMachine(options: new CpuOptions(JitThreshold: 100));
        m.Load(32, Code, a =>
        {
            Label top = a.CreateLabel();
            a.xor(ecx, ecx);
            a.mov(ebx, Data);
            a.Label(ref top);
            a.add(ecx, 1);
            a.add(__dword_ptr[ebx], ecx);
            a.jmp(top);
        });
        m.Cpu.EnterMultiboot(Code, 0, 0);

        // The vCPU never waits for the compiler: run slices until the compiled code has taken over (or give up).
        var clock = Stopwatch.StartNew();
        while (m.Cpu.InstructionsRetiredCompiled == 0 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.Equal(CpuExitKind.BudgetExhausted, m.Cpu.Run(100_000));
        }

        Assert.Equal(CpuExitKind.BudgetExhausted, m.Cpu.Run(1_000_000));
        Assert.True(m.Cpu.BlocksCompiled > 0, "the compiler thread never delivered");
        Assert.True(m.Cpu.InstructionsRetiredCompiled > 0, "compiled code never ran");

        // Two set-up instructions, then three per pass: the count retired says how far the loop got, whichever tier
        // ran each pass; ECX and Data must agree with it (Data = 1 + 2 + … over the passes whose add has run).
        long loop = m.Cpu.InstructionsRetired - 2;
        ulong full = (ulong)(loop / 3);
        long partial = loop % 3;
        ulong counted = partial == 2 ? full + 1 : full;
        Assert.Equal((uint)(partial == 0 ? full : full + 1), m.Cpu._gpr[X86Cpu.RegEcx]);
        Assert.Equal(unchecked((uint)(counted * (counted + 1) / 2)), m.Memory.ReadU32(Data));
    }
}
