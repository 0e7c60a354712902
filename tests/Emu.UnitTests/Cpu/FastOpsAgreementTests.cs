using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>The micro-op fast path and the generic interpreter must agree instruction for instruction.</summary>
public sealed class FastOpsAgreementTests
{
    private static (Emu.Machine.Cpu.State.CpuState State, byte[] Data) RunMix(bool fastOps, long budget) =>
        Run(fastOps, budget, a =>
        {
            Label top = a.CreateLabel();
            Label skip = a.CreateLabel();
            Label sub = a.CreateLabel();
            a.mov(esp, 0x9000);
            a.mov(esi, 0x20_0000);
            a.mov(edi, 0x20_1000);
            a.mov(ecx, 300);
            a.mov(ebx, 0x8000_0001);
            a.Label(ref top);
            a.mov(eax, __dword_ptr[esi + ecx * 4]);
            a.add(eax, ebx);
            a.xor(edx, eax);
            a.sub(ebx, 0x1234_5679);
            a.cmp(eax, edx);
            a.jl(skip);
            a.or(__dword_ptr[edi + ecx * 4 - 4], eax);
            a.Label(ref skip);
            a.mov(__dword_ptr[edi + ecx * 4], edx);
            a.mov(__byte_ptr[edi + 0x800], bl);
            a.movzx(ebp, __byte_ptr[esi + ecx]);
            a.lea(ebp, __[ebp + eax * 2 + 7]);
            a.push(ebp);
            a.call(sub);
            a.pop(ebp);
            a.test(ebp, 0x10);
            a.rol(ebx, 3);
            a.ror(edx, 31);
            a.adc(ebp, 0);                       // consumes the rotate's CF
            a.shl(eax, 7);
            a.shr(ebp, 1);
            a.sar(edx, 13);
            a.setp(__byte_ptr[edi + ecx + 0x900]);
            a.seto(__byte_ptr[edi + ecx + 0xA00]);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
            a.Label(ref sub);
            a.inc(__dword_ptr[esp + 4]);
            a.and(edx, 0x0FFF_FFFF);
            a.ret();
        });

    /// <summary>
    /// The speed guest's loop and more: most of these instructions' flags are overwritten before anything reads
    /// them, so a whole-block run skips them (FlagLiveness); a run cut at any instruction must still see them all.
    /// </summary>
    private static (Emu.Machine.Cpu.State.CpuState State, byte[] Data) RunDeadFlags(bool fastOps, long budget) =>
        Run(fastOps, budget, a =>
        {
            Label top = a.CreateLabel();
            a.mov(ecx, 200);
            a.mov(esi, 0x20_0000);
            a.mov(ebx, 0x1357_9BDF);
            a.mov(edi, 0x8000_0000);
            a.Label(ref top);
            a.add(eax, ecx);
            a.mov(edx, __dword_ptr[esi]);
            a.xor(edx, eax);
            a.mov(__dword_ptr[esi + 4], edx);
            a.rol(ebx, 3);
            a.add(ebx, edx);
            a.cmp(ebx, edi);
            a.inc(ebp);
            a.sub(edi, ebx);
            a.test(edi, 1);
            a.shl(eax, 1);
            a.ror(edx, 5);
            a.dec(ebp);
            a.or(ebp, edx);
            a.mov(ebp, ebx);
            a.sar(ebp, 3);
            a.and(edx, 0xFF);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
        });

    private static (Emu.Machine.Cpu.State.CpuState State, byte[] Data) Run(bool fastOps, long budget, Action<Assembler> program)
    {
        using var m = new CpuTestMachine(options: new CpuOptions(FastOps: fastOps));
        m.Load(32, 0x10_0000, program);
        for (uint i = 0; i < 0x1000; i += 4)
        {
            m.Memory.WriteU32(0x20_0000 + i, i * 0x9E37_79B9u);
        }

        m.Cpu.EnterMultiboot(0x10_0000, 0, 0);
        m.Cpu.Run(budget);
        var data = new byte[0x2000];
        m.Memory.Read(0x20_0000, data);
        return (m.Cpu.Save(), data);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(100_000)]
    public void FastAndGenericPathsReachTheSameState(long budget) => AssertPathsAgree(fastOps => RunMix(fastOps, budget));

    /// <summary>Every cut inside the first loop passes, then whole runs: dead flags never show.</summary>
    [Theory]
    [MemberData(nameof(DeadFlagBudgets))]
    public void DroppedFlagsNeverShowWhereARunStops(long budget) => AssertPathsAgree(fastOps => RunDeadFlags(fastOps, budget));

    /// <summary>The same program on the micro-op path and on the generic interpreter: same CPU state, same memory.</summary>
    private static void AssertPathsAgree(Func<bool, (Emu.Machine.Cpu.State.CpuState State, byte[] Data)> run)
    {
        (Emu.Machine.Cpu.State.CpuState fast, byte[] fastData) = run(true);
        (Emu.Machine.Cpu.State.CpuState generic, byte[] genericData) = run(false);

        Assert.Equal(generic, fast);
        Assert.Equal(genericData, fastData);
    }

    public static TheoryData<long> DeadFlagBudgets()
    {
        var budgets = new TheoryData<long>();
        for (long b = 1; b <= 45; b++)
        {
            budgets.Add(b);
        }

        budgets.Add(1000);
        budgets.Add(100_000);
        return budgets;
    }
}
