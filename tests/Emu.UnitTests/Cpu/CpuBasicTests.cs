using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

public sealed class CpuBasicTests
{
    [Fact]
    public void ResetStateIsThe386ResetVector()
    {
        using var m = new CpuTestMachine();
        Assert.Equal(0xFFF0u, m.Cpu._eip);
        Assert.Equal(0xF000, m.Cpu._seg[X86Cpu.SegCs].Selector);
        Assert.Equal(0xFFFF_0000u, m.Cpu._seg[X86Cpu.SegCs].Base);
        Assert.Equal(X86Cpu.CpuidSignature, m.Cpu._gpr[X86Cpu.RegEdx]);
        Assert.Equal(0x6000_0010u, m.Cpu._cr0);
    }

    [Fact]
    public void RealModeLoopWritesPortOutput()
    {
        using var m = new CpuTestMachine();
        m.Load(16, 0x7C00, a =>
        {
            Label top = a.CreateLabel();
            a.mov(cx, 5);
            a.mov(al, (byte)'A');
            a.mov(dx, CpuTestMachine.DebugPort);
            a.Label(ref top);
            a.@out(dx, al);
            a.inc(al);
            a.loop(top);
            a.hlt();
        });
        m.StartReal(0x7C00);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal("ABCDE", m.Output);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(5 * 3 + 3 + 1, m.Cpu.InstructionsRetired);
    }

    [Fact]
    public void FlatProtectedModeComputesAndStores()
    {
        using var m = new CpuTestMachine();
        m.Load(32, 0x10_0000, a =>
        {
            Label top = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(ecx, 100);
            a.Label(ref top);
            a.add(eax, ecx);
            a.dec(ecx);
            a.jnz(top);
            a.mov(__dword_ptr[0x20_0000], eax);
            a.mov(ebx, __dword_ptr[0x20_0000]);
            a.shl(ebx, 4);
            a.mov(__dword_ptr[0x20_0004], ebx);
            a.hlt();
        });
        m.Cpu.EnterMultiboot(0x10_0000, 0x2BAD_B002, 0x9000);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(5050u, m.Memory.ReadU32(0x20_0000));
        Assert.Equal(5050u << 4, m.Memory.ReadU32(0x20_0004));
    }

    [Fact]
    public void FarJumpSwitchesFromRealToProtectedMode()
    {
        using var m = new CpuTestMachine();

        // GDT at 0x600: null, flat code 0x08, flat data 0x10; GDTR at 0x680.
        m.Memory.WriteU64(0x600, 0);
        m.Memory.WriteU64(0x608, 0x00CF_9A00_0000_FFFF);
        m.Memory.WriteU64(0x610, 0x00CF_9200_0000_FFFF);
        m.Memory.WriteU16(0x680, 0x17);
        m.Memory.WriteU32(0x682, 0x600);
        m.Load(16, 0x7C00, a =>
        {
            a.cli();
            a.lgdt(__[0x680]);
            a.mov(eax, cr0);
            a.or(al, 1);
            a.mov(cr0, eax);
            a.jmp(0x08, 0x8000);
        });
        m.Load(32, 0x8000, a =>
        {
            a.mov(ax, 0x10);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(esp, 0x9000);
            a.push(0x1234_5678);
            a.pop(ebx);
            a.mov(__dword_ptr[0x5000], ebx);
            a.hlt();
        });
        m.StartReal(0x7C00);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0x1234_5678u, m.Memory.ReadU32(0x5000));
        Assert.True(m.Cpu._code32);
    }

    [Fact]
    public void RealModeInterruptGoesThroughIvtAndIretReturns()
    {
        using var m = new CpuTestMachine();
        m.Memory.WriteU16(0x21 * 4, 0x0500);
        m.Memory.WriteU16(0x21 * 4 + 2, 0x0000);
        m.Load(16, 0x500, a =>
        {
            a.mov(al, (byte)'i');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.iret();
        });
        m.Load(16, 0x7C00, a =>
        {
            a.mov(al, (byte)'a');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.@int(0x21);
            a.mov(al, (byte)'b');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.hlt();
        });
        m.StartReal(0x7C00);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal("aib", m.Output);
        Assert.Equal(0x8000u, m.Cpu._gpr[X86Cpu.RegEsp]);
    }

    [Fact]
    public void HltWaitsForAnExternalInterrupt()
    {
        using var m = new CpuTestMachine();
        m.Memory.WriteU16(0x08 * 4, 0x0500);
        m.Memory.WriteU16(0x08 * 4 + 2, 0x0000);
        m.Load(16, 0x500, a =>
        {
            a.mov(al, (byte)'T');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.iret();
        });
        m.Load(16, 0x7C00, a =>
        {
            a.sti();
            a.hlt();
            a.mov(al, (byte)'X');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.cli();
            a.hlt();
        });
        m.StartReal(0x7C00);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(string.Empty, m.Output);
        m.Interrupts.Raise(0x08);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal("TX", m.Output);
        Assert.Equal(1, m.Interrupts.Acknowledged);
    }

    [Fact]
    public void StiShadowHoldsInterruptUntilAfterTheNextInstruction()
    {
        using var m = new CpuTestMachine();
        m.Memory.WriteU16(0x08 * 4, 0x0500);
        m.Load(16, 0x500, a =>
        {
            a.push(ax);
            a.mov(al, (byte)'T');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.pop(ax);
            a.iret();
        });
        m.Load(16, 0x7C00, a =>
        {
            a.mov(al, (byte)'1');
            a.sti();
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.hlt();
        });
        m.StartReal(0x7C00);
        m.Interrupts.Raise(0x08);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal("1T", m.Output);
    }

    [Fact]
    public void ProtectedModeDivideErrorGoesThroughIdtAndFaultsAtTheInstruction()
    {
        using var m = new CpuTestMachine();

        // GDT for the handler's CS selector 0x08, IDT at 0x1000 with vector 0 → 0x3000.
        m.Memory.WriteU64(0x600, 0);
        m.Memory.WriteU64(0x608, 0x00CF_9A00_0000_FFFF);
        m.Memory.WriteU64(0x610, 0x00CF_9200_0000_FFFF);
        m.Memory.WriteU32(0x1000, 0x0008_3000);
        m.Memory.WriteU32(0x1004, 0x0000_8E00);
        m.Load(32, 0x3000, a =>
        {
            a.pop(ebx);          // faulting EIP
            a.mov(__dword_ptr[0x5000], ebx);
            a.hlt();
        });
        m.Cpu.EnterMultiboot(0x10_0000, 0, 0);
        m.Cpu._gdtBase = 0x600;
        m.Cpu._gdtLimit = 0x17;
        m.Cpu._idtBase = 0x1000;
        m.Cpu._idtLimit = 0x7FF;
        m.Cpu._gpr[X86Cpu.RegEsp] = 0x9000;
        m.Load(32, 0x10_0000, a =>
        {
            a.mov(eax, 10);
            a.xor(ecx, ecx);
            a.div(ecx);
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0x10_0000u + 5 + 2, m.Memory.ReadU32(0x5000));
    }

    [Fact]
    public void TripleFaultShutsDownWithAReason()
    {
        using var m = new CpuTestMachine();
        m.Load(32, 0x10_0000, a =>
        {
            a.xor(ecx, ecx);
            a.div(ecx);
        });
        m.Cpu.EnterMultiboot(0x10_0000, 0, 0);
        m.Cpu._idtLimit = 0; // every vector is beyond the IDT limit

        Assert.Equal(CpuExitKind.Shutdown, m.RunToHalt());
        Assert.Contains("triple fault", m.Cpu.ShutdownReason);
    }

    [Fact]
    public void RequestExitStopsAnEndlessLoop()
    {
        using var m = new CpuTestMachine();
        m.Load(32, 0x10_0000, a =>
        {
            Label top = a.CreateLabel();
            a.Label(ref top);
            a.inc(eax);
            a.jmp(top);
        });
        m.Cpu.EnterMultiboot(0x10_0000, 0, 0);

        Assert.Equal(CpuExitKind.BudgetExhausted, m.Cpu.Run(1000));
        Assert.InRange(m.Cpu.InstructionsRetired, 1000, 1064);
        m.Cpu.RequestExit();
        Assert.Equal(CpuExitKind.ExitRequested, m.Cpu.Run(1000));
    }
}
