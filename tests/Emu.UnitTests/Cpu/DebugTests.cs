using Emu.Machine.Cpu;
using static Emu.UnitTests.Cpu.ProtectedModeTests;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>#DB: the EFLAGS.TF single-step trap (with the MOV SS delay) and DR0-DR3 instruction breakpoints with RF.</summary>
public sealed class DebugTests
{
    /// <summary>#DB handler: Result = count, Result + 4 + 4n = the pushed EIP of trap n, Result + 0x40 = DR6.</summary>
    private static CpuTestMachine BuildWithDebugHandler(bool setRf)
    {
        CpuTestMachine m = Build();
        Gate(m, 1, Handler, 0);
        m.Load(32, Handler, a =>
        {
            a.mov(eax, __dword_ptr[Result]);
            a.mov(ebx, __dword_ptr[esp]);
            a.mov(__dword_ptr[eax * 4 + (Result + 4)], ebx);
            a.inc(__dword_ptr[Result]);
            a.mov(eax, dr6);
            a.mov(__dword_ptr[Result + 0x40], eax);
            if (setRf)
            {
                a.or(__dword_ptr[esp + 8], 0x1_0000);
            }

            a.iretd();
        });
        return m;
    }

    [Fact]
    public void TrapFlagTrapsAfterEachInstructionAndMovSsDelaysTheTrap()
    {
        using CpuTestMachine m = BuildWithDebugHandler(setRf: false);
        byte[] code = m.Load(32, Code, a =>
        {
            a.mov(ecx, (uint)KernelData);
            a.xor(edx, edx);
            a.pushfd();
            a.or(__dword_ptr[esp], 0x100);
            a.popfd();                        // sets TF: no trap after this one
            a.nop();                          // trap 0
            a.mov(ss, ecx);                   // no trap: MOV SS delays it
            a.inc(edx);                       // trap 1, after both
            a.pushfd();                       // trap 2
            a.and(__dword_ptr[esp], ~0x100);  // trap 3
            a.popfd();                        // trap 4: TF was set when it started
            a.inc(edx);
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(5u, m.Memory.ReadU32(Result));
        Assert.Equal(2u, m.Cpu._gpr[X86Cpu.RegEdx]);
        Assert.NotEqual(0u, m.Memory.ReadU32(Result + 0x40) & X86Cpu.Dr6Bs);

        // Trap EIPs point after the instruction that trapped: nop (1 byte), inc edx after MOV SS, pushfd, and, popfd.
        uint nop = (uint)Array.IndexOf(code, (byte)0x90);
        Assert.Equal(Code + nop + 1, m.Memory.ReadU32(Result + 4));
        Assert.Equal(Code + nop + 1 + 2 + 1, m.Memory.ReadU32(Result + 8));   // mov ss,ecx (2) + inc edx (1)
        Assert.Equal(Code + nop + 1 + 2 + 1 + 1, m.Memory.ReadU32(Result + 12));
        Assert.Equal(0x9Du, m.Memory.ReadU8(m.Memory.ReadU32(Result + 16)));  // the popfd follows the AND
        Assert.Equal(0x42u, m.Memory.ReadU8(m.Memory.ReadU32(Result + 20)));  // inc edx follows the popfd
        Assert.Equal(0u, m.Cpu.GetEflags() & X86Cpu.FlagTf);
    }

    [Fact]
    public void SoftwareInterruptEntersItsHandlerWithoutATrap()
    {
        using CpuTestMachine m = BuildWithDebugHandler(setRf: false);
        Gate(m, 0x40, Handler + 0x100, 0);
        m.Load(32, Handler + 0x100, a =>
        {
            a.inc(esi);
            a.iretd();
        });
        m.Load(32, Code, a =>
        {
            a.pushfd();
            a.or(__dword_ptr[esp], 0x100);
            a.popfd();
            a.@int(0x40);                     // no trap into the handler; the handler runs untraced
            a.pushfd();                       // trap 0: TF came back with IRET
            a.and(__dword_ptr[esp], ~0x100);  // trap 1
            a.popfd();                        // trap 2
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(1u, m.Cpu._gpr[X86Cpu.RegEsi]);
        Assert.Equal(3u, m.Memory.ReadU32(Result));
    }

    [Fact]
    public void ExecuteBreakpointFaultsBeforeTheInstructionAndRfLetsItRun()
    {
        using CpuTestMachine m = BuildWithDebugHandler(setRf: true);
        uint target = 0;
        byte[] code = m.Load(32, Code, a =>
        {
            a.mov(eax, 0);
            a.mov(dr0, eax);                  // patched below to the address of the INC
            a.mov(eax, 0x1);                  // L0, execute, 1 byte
            a.mov(dr7, eax);
            a.nop();
            a.inc(edi);                       // the breakpoint
            a.inc(edi);
            a.hlt();
        });
        target = Code + (uint)Array.IndexOf(code, (byte)0x47);
        m.Memory.WriteU32(Code + 1, target);   // imm32 of the first MOV EAX

        CpuExitKind exit = m.RunToHalt();
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(CpuExitKind.Halted, exit);
        Assert.Equal(1u, m.Memory.ReadU32(Result));
        Assert.Equal(target, m.Memory.ReadU32(Result + 4));                 // a fault: EIP at the INC
        Assert.Equal(1u, m.Memory.ReadU32(Result + 0x40) & 0xF);            // B0
        Assert.Equal(2u, m.Cpu._gpr[X86Cpu.RegEdi]);                        // RF let the INC run once, no loop
    }
}
