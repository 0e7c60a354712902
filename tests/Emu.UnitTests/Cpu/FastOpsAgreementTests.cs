using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>The micro-op fast path and the generic interpreter must agree instruction for instruction.</summary>
public sealed class FastOpsAgreementTests
{
    private static (Emu.Machine.Cpu.State.CpuState State, byte[] Data) RunMix(bool fastOps, long budget)
    {
        using var m = new CpuTestMachine(options: new CpuOptions(FastOps: fastOps));
        m.Load(32, 0x10_0000, a =>
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
    public void FastAndGenericPathsReachTheSameState(long budget)
    {
        (Emu.Machine.Cpu.State.CpuState fast, byte[] fastData) = RunMix(fastOps: true, budget);
        (Emu.Machine.Cpu.State.CpuState generic, byte[] genericData) = RunMix(fastOps: false, budget);

        Assert.Equal(generic, fast);
        Assert.Equal(genericData, fastData);
    }
}
