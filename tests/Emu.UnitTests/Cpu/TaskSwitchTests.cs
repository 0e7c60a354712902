using Emu.Machine.Cpu;
using static Emu.UnitTests.Cpu.ProtectedModeTests;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>Hardware task switches with hand-built 32-bit TSSs: CALL + IRET (NT, back link, busy bits), JMP, and #DF through a task gate.</summary>
public sealed class TaskSwitchTests
{
    private const uint TssB = 0x6100, TssC = 0x6200, TaskCode = 0x20_0000;
    private const ushort TaskB = 0x38, TaskC = 0x40;

    private static CpuTestMachine BuildTasks()
    {
        CpuTestMachine m = Build();
        m.Memory.WriteU64(Gdt + TaskB, Descriptor(TssB, 0x67, 0x89, 0));
        m.Memory.WriteU64(Gdt + TaskC, Descriptor(TssC, 0x67, 0x89, 0));
        m.Cpu._gdtLimit = 0x47;
        InitTss(m, TssB, TaskCode, esp: 0x9800, eax: 0xB0B);
        InitTss(m, TssC, TaskCode + 0x100, esp: 0x9C00, eax: 0xC0C);
        return m;
    }

    /// <summary>A ring-0 flat task starting at <paramref name="eip"/> with IF clear.</summary>
    private static void InitTss(CpuTestMachine m, uint tss, uint eip, uint esp, uint eax)
    {
        m.Memory.WriteU32(tss + 0x20, eip);
        m.Memory.WriteU32(tss + 0x24, 2);
        m.Memory.WriteU32(tss + 0x28, eax);
        m.Memory.WriteU32(tss + 0x38, esp);
        for (uint seg = 0; seg < 6; seg++)
        {
            m.Memory.WriteU32(tss + 0x48 + seg * 4, seg == 1 ? KernelCode : KernelData);
        }
    }

    private static byte AccessByte(CpuTestMachine m, ushort selector) => m.Memory.ReadU8(Gdt + selector + 5u);

    [Fact]
    public void CallToTssLinksBackAndIretReturnsToTheCaller()
    {
        using CpuTestMachine m = BuildTasks();
        m.Load(32, TaskCode, a =>
        {
            a.mov(__dword_ptr[Result], eax);             // EAX from the TSS
            a.pushfd();
            a.pop(eax);
            a.mov(__dword_ptr[Result + 4], eax);         // EFLAGS: NT set by the CALL
            a.mov(al, __byte_ptr[Gdt + TaskB + 5]);
            a.mov(__byte_ptr[Result + 8], al);           // B busy while it runs
            a.mov(al, __byte_ptr[Gdt + TssSelector + 5]);
            a.mov(__byte_ptr[Result + 9], al);           // A stays busy (nested)
            a.iretd();
        });
        m.Load(32, Code, a =>
        {
            a.mov(ax, TssSelector);
            a.ltr(ax);
            a.mov(ebx, 0x1234);
            a.call(TaskB, 0);
            a.mov(__dword_ptr[Result + 12], ebx);        // restored from A's TSS
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(0xB0Bu, m.Memory.ReadU32(Result));
        Assert.NotEqual(0u, m.Memory.ReadU32(Result + 4) & X86Cpu.FlagNt);
        Assert.Equal(0x8B, m.Memory.ReadU8(Result + 8));
        Assert.Equal(0x8B, m.Memory.ReadU8(Result + 9));
        Assert.Equal(0x1234u, m.Memory.ReadU32(Result + 12));
        Assert.Equal((uint)TssSelector, m.Memory.ReadU32(TssB) & 0xFFFF); // back link
        Assert.Equal(0x89, AccessByte(m, TaskB));                         // available again after IRET
        Assert.Equal(0x8B, AccessByte(m, TssSelector));
        Assert.Equal((ushort)TssSelector, m.Cpu._tr.Selector);
        Assert.Equal(0u, m.Cpu.GetEflags() & X86Cpu.FlagNt);
        Assert.NotEqual(0u, m.Cpu._cr0 & X86Cpu.Cr0Ts);
    }

    [Fact]
    public void JumpToTssLeavesTheOldTaskAvailableWithoutNt()
    {
        using CpuTestMachine m = BuildTasks();
        m.Load(32, TaskCode, a =>
        {
            a.pushfd();
            a.pop(eax);
            a.mov(__dword_ptr[Result], eax);
            a.hlt();
        });
        m.Load(32, Code, a =>
        {
            a.mov(ax, TssSelector);
            a.ltr(ax);
            a.mov(esi, 0x5151);
            a.jmp(TaskB, 0);
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(0u, m.Memory.ReadU32(Result) & X86Cpu.FlagNt);
        Assert.Equal(0x89, AccessByte(m, TssSelector));
        Assert.Equal(0x8B, AccessByte(m, TaskB));
        Assert.Equal(0x5151u, m.Memory.ReadU32(Tss + 0x40));   // A's ESI saved in its TSS
        Assert.Equal((ushort)TaskB, m.Cpu._tr.Selector);
    }

    [Fact]
    public void DoubleFaultThroughATaskGateRunsOnTheHandlerTask()
    {
        using CpuTestMachine m = BuildTasks();

        // Vector 13's gate is empty, so the #GP cannot be delivered: #DF, whose IDT entry is a task gate to C.
        m.Memory.WriteU32(Idt + 8 * 8, (uint)TaskC << 16);
        m.Memory.WriteU32(Idt + 8 * 8 + 4, 0x8500);
        m.Load(32, TaskCode + 0x100, a =>
        {
            a.pop(eax);                                   // #DF's error code, pushed on C's stack
            a.mov(__dword_ptr[Result], eax);
            a.mov(__dword_ptr[Result + 4], esp);
            a.mov(eax, __dword_ptr[Tss + 0x20]);          // the faulting EIP, saved in A's TSS
            a.mov(__dword_ptr[Result + 8], eax);
            a.hlt();
        });
        m.Load(32, Code, a =>
        {
            a.mov(ax, TssSelector);
            a.ltr(ax);
            a.mov(ax, 0x7FF8);                            // beyond the GDT limit: #GP
            a.mov(ds, ax);
            a.hlt();
        });
        m.Memory.WriteU32(Result, 0xFFFF_FFFF);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(0u, m.Memory.ReadU32(Result));
        Assert.Equal(0x9C00u, m.Memory.ReadU32(Result + 4));
        Assert.Equal(0x8E66, m.Memory.ReadU16(m.Memory.ReadU32(Result + 8)));  // MOV DS, AX (66 8E D8)
        Assert.Equal((ushort)TaskC, m.Cpu._tr.Selector);
    }
}
