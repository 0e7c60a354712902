using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>Protected-mode behaviour with hand-built GDT, IDT, TSS and page tables: #PF, ring 3 → ring 0 via the TSS, #GP on a limit.</summary>
public sealed class ProtectedModeTests
{
    internal const uint Gdt = 0x600, Idt = 0x1000, Handler = 0x3000, Tss = 0x6000, Code = 0x10_0000, Result = 0x5000;
    internal const ushort KernelCode = 0x08, KernelData = 0x10, UserCode = 0x1B, UserData = 0x23, TssSelector = 0x28, SmallData = 0x30;

    internal static ulong Descriptor(uint baseAddress, uint limit, byte access, byte flags) =>
        (limit & 0xFFFF) | ((ulong)(baseAddress & 0xFF_FFFF) << 16) | ((ulong)access << 40)
        | ((ulong)((limit >> 16) & 0xF) << 48) | ((ulong)(flags & 0xF) << 52) | ((ulong)(baseAddress >> 24) << 56);

    /// <summary>Flat ring 0 and ring 3 segments, a TSS with SS0:ESP0 = 0x10:0x9000, a 4 KiB data segment, and an IDT.</summary>
    internal static CpuTestMachine Build()
    {
        var m = new CpuTestMachine(8 << 20);
        m.Memory.WriteU64(Gdt + 0x00, 0);
        m.Memory.WriteU64(Gdt + 0x08, Descriptor(0, 0xFFFFF, 0x9A, 0xC));
        m.Memory.WriteU64(Gdt + 0x10, Descriptor(0, 0xFFFFF, 0x92, 0xC));
        m.Memory.WriteU64(Gdt + 0x18, Descriptor(0, 0xFFFFF, 0xFA, 0xC));
        m.Memory.WriteU64(Gdt + 0x20, Descriptor(0, 0xFFFFF, 0xF2, 0xC));
        m.Memory.WriteU64(Gdt + 0x28, Descriptor(Tss, 103, 0x89, 0x0));
        m.Memory.WriteU64(Gdt + 0x30, Descriptor(0x40_0000, 0xFFF, 0x92, 0x4));
        m.Memory.WriteU32(Tss + 4, 0x9000);
        m.Memory.WriteU32(Tss + 8, KernelData);
        m.Cpu.EnterMultiboot(Code, 0, 0);
        m.Cpu._gdtBase = Gdt;
        m.Cpu._gdtLimit = 0x37;
        m.Cpu._idtBase = Idt;
        m.Cpu._idtLimit = 0x7FF;
        m.Cpu._gpr[X86Cpu.RegEsp] = 0x8000;
        return m;
    }

    internal static void Gate(CpuTestMachine m, int vector, uint offset, int dpl)
    {
        m.Memory.WriteU32(Idt + (uint)vector * 8, (uint)(KernelCode << 16) | (offset & 0xFFFF));
        m.Memory.WriteU32(Idt + (uint)vector * 8 + 4, (offset & 0xFFFF_0000) | 0x8E00u | (uint)(dpl << 13));
    }

    [Fact]
    public void PageFaultReportsCr2AndErrorCodeAndRestartsTheInstruction()
    {
        using CpuTestMachine m = Build();

        // Identity-map the first 4 MiB except page 0x300 (not present).
        const uint pd = 0x8_0000, pt = 0x8_1000;
        m.Memory.WriteU32(pd, pt | 3);
        for (uint i = 0; i < 1024; i++)
        {
            m.Memory.WriteU32(pt + i * 4, i == 0x300 ? 0 : (i << 12) | 3);
        }

        Gate(m, 14, Handler, 0);
        m.Load(32, Handler, a =>
        {
            a.pop(eax);                               // error code
            a.mov(__dword_ptr[Result], eax);
            a.mov(eax, cr2);
            a.mov(__dword_ptr[Result + 4], eax);
            a.mov(eax, __dword_ptr[esp]);             // faulting EIP
            a.mov(__dword_ptr[Result + 8], eax);
            a.mov(__dword_ptr[pt + 0x300 * 4], 0x30_0003); // map the page, then retry the store
            a.invlpg(__[0x30_0123]);
            a.iretd();
        });
        m.Load(32, Code, a =>
        {
            a.mov(eax, pd);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, 0x8000_0000);
            a.mov(cr0, eax);
            a.mov(__dword_ptr[0x30_0123], 0xABCD);
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(2u, m.Memory.ReadU32(Result));                  // write, not present, supervisor
        Assert.Equal(0x30_0123u, m.Memory.ReadU32(Result + 4));
        uint faultEip = m.Memory.ReadU32(Result + 8);
        Assert.Equal(0x05C7, m.Memory.ReadU16(faultEip)); // the faulting MOV [disp32], imm32, not the next instruction
        Assert.Equal(0xABCDu, m.Memory.ReadU32(0x30_0123));
        Assert.Equal(0x63u, m.Memory.ReadU32(pt + 0x300 * 4) & 0x63u);     // accessed and dirty set by the retry
    }

    [Fact]
    public void UserModeAccessToSupervisorPageFaultsWithUserBit()
    {
        using CpuTestMachine m = Build();
        EnterRing3(m, UserPagingWithSupervisorPage(m), a => a.mov(eax, __dword_ptr[0x30_0010]));

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(5u, m.Memory.ReadU32(Result));      // present, read, user
        Assert.Equal(0x30_0010u, m.Memory.ReadU32(Result + 4));
    }

    [Fact]
    public void Ring3InterruptSwitchesToTheTssStack()
    {
        using CpuTestMachine m = Build();
        Gate(m, 0x80, Handler, 3);
        m.Load(32, Handler, a =>
        {
            a.mov(__dword_ptr[Result], esp);
            a.mov(eax, __dword_ptr[esp + 4]);     // pushed CS
            a.mov(__dword_ptr[Result + 4], eax);
            a.mov(eax, __dword_ptr[esp + 12]);    // pushed ESP
            a.mov(__dword_ptr[Result + 8], eax);
            a.mov(eax, __dword_ptr[esp + 16]);    // pushed SS
            a.mov(__dword_ptr[Result + 12], eax);
            a.mov(ax, ss);
            a.mov(__word_ptr[Result + 16], ax);
            a.iretd();
        });
        EnterRing3(m, 0, a =>
        {
            a.@int(0x80);
            a.mov(__dword_ptr[0x7100], 0x600D);  // runs at ring 3 after IRET
            a.cli();                              // #GP at CPL 3 with IOPL 0
        });
        Gate(m, 13, Handler + 0x100, 0);
        m.Load(32, Handler + 0x100, a =>
        {
            a.pop(eax);
            a.mov(__dword_ptr[Result + 20], eax);
            a.mov(eax, __dword_ptr[esp + 4]);
            a.mov(__dword_ptr[Result + 24], eax);
            a.hlt();
        });

        m.RunToHalt();
        Assert.Null(m.Cpu.ShutdownReason);
        Assert.Equal(0x9000u - 20, m.Memory.ReadU32(Result));
        Assert.Equal((uint)UserCode, m.Memory.ReadU32(Result + 4));
        Assert.Equal(0x7F00u, m.Memory.ReadU32(Result + 8));
        Assert.Equal((uint)UserData, m.Memory.ReadU32(Result + 12));
        Assert.Equal(KernelData, m.Memory.ReadU16(Result + 16));
        Assert.Equal(0x600Du, m.Memory.ReadU32(0x7100));
        Assert.Equal(0u, m.Memory.ReadU32(Result + 20));
        Assert.Equal((uint)UserCode, m.Memory.ReadU32(Result + 24));
    }

    [Fact]
    public void AccessBeyondTheSegmentLimitRaisesGeneralProtection()
    {
        using CpuTestMachine m = Build();
        Gate(m, 13, Handler, 0);
        m.Load(32, Handler, a =>
        {
            a.pop(eax);
            a.mov(bx, KernelData);
            a.mov(ds, bx);
            a.mov(__dword_ptr[Result], eax);
            a.mov(eax, __dword_ptr[esp]);
            a.mov(__dword_ptr[Result + 4], eax);
            a.hlt();
        });
        m.Load(32, Code, a =>
        {
            a.mov(ax, SmallData);
            a.mov(ds, ax);
            a.mov(__dword_ptr[0xFFC], 0x1111);  // last dword inside the limit
            a.mov(eax, __dword_ptr[0xFFD]);     // crosses the 4 KiB limit
            a.hlt();
        });
        m.Memory.WriteU32(Result, 0xFFFF_FFFF);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0u, m.Memory.ReadU32(Result));
        Assert.Equal(0xA1, m.Memory.ReadU8(m.Memory.ReadU32(Result + 4))); // EIP of the faulting MOV EAX, [moffs]
        Assert.Equal(0x1111u, m.Memory.ReadU32(0x40_0FFC));
    }

    /// <summary>
    /// Paging for ring 3 over the first 4 MiB with page 0x300 (0x300000) supervisor-only, and a #PF handler that
    /// stores the error code at <see cref="Result"/>, CR2 at +4 and the interrupted ring-3 ESP at +8, then halts.
    /// Returns the page directory for <see cref="EnterRing3"/>.
    /// </summary>
    internal static uint UserPagingWithSupervisorPage(CpuTestMachine m)
    {
        const uint pd = 0x8_0000, pt = 0x8_1000;
        m.Memory.WriteU32(pd, pt | 7);
        for (uint i = 0; i < 1024; i++)
        {
            m.Memory.WriteU32(pt + i * 4, (i << 12) | (i == 0x300 ? 3u : 7u));
        }

        Gate(m, 14, Handler, 0);
        m.Load(32, Handler, a =>
        {
            a.pop(eax);
            a.mov(__dword_ptr[Result], eax);
            a.mov(eax, cr2);
            a.mov(__dword_ptr[Result + 4], eax);
            a.mov(eax, __dword_ptr[esp + 12]);
            a.mov(__dword_ptr[Result + 8], eax);
            a.hlt();
        });
        return pd;
    }

    /// <summary>Sets up paging (if <paramref name="pageDirectory"/> is not 0) and IRETs to ring-3 code at 0x7000 with ESP 0x7F00 and DS = ring-3 data.</summary>
    internal static void EnterRing3(CpuTestMachine m, uint pageDirectory, Action<Assembler> user)
    {
        m.Memory.WriteU64(Gdt + 0x18, Descriptor(0, 0xFFFFF, 0xFA, 0xC));
        m.Load(32, 0x7000, a =>
        {
            // IRET to ring 3 nulled DS/ES (their DPL 0 is below CPL 3): load the ring-3 data segment.
            a.mov(ax, UserData);
            a.mov(ds, ax);
            user(a);
        });
        m.Load(32, Code, a =>
        {
            if (pageDirectory != 0)
            {
                a.mov(eax, pageDirectory);
                a.mov(cr3, eax);
                a.mov(eax, cr0);
                a.or(eax, 0x8000_0000);
                a.mov(cr0, eax);
            }

            a.mov(ax, TssSelector);
            a.ltr(ax);
            a.push(UserData);
            a.push(0x7F00);
            a.push(0x2);
            a.push(UserCode);
            a.push(0x7000);
            a.iretd();
        });
    }
}
