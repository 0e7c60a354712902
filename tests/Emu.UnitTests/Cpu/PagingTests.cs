using Emu.Machine.Cpu;
using Emu.Machine.Memory;
using static Emu.UnitTests.Cpu.ProtectedModeTests;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

/// <summary>The page-table walker reads entries from RAM directly and its A/D updates are guest stores (dirty-logged).</summary>
public sealed class PagingTests
{
    private const uint Pd = 0x8_0000, Pt = 0x8_1000;

    private static void IdentityMap(CpuTestMachine m, uint pdeFlags = 3)
    {
        m.Memory.WriteU32(Pd, Pt | pdeFlags);
        for (uint i = 0; i < 1024; i++)
        {
            m.Memory.WriteU32(Pt + i * 4, (i << 12) | 3);
        }
    }

    private static void EnablePaging(Iced.Intel.Assembler a)
    {
        a.mov(eax, Pd);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, 0x8000_0000);
        a.mov(cr0, eax);
    }

    [Fact]
    public void WalkSetsAccessedAndDirtyBitsAndLogsThePageTablePageDirty()
    {
        using CpuTestMachine m = Build();
        IdentityMap(m);
        m.Load(32, Code, a =>
        {
            EnablePaging(a);
            a.mov(ebx, __dword_ptr[0x20_0010]);      // read: A only
            a.mov(__dword_ptr[0x30_0020], 0x1234);   // write: A and D
            a.hlt();
        });
        DirtyLog log = m.Ram.DirtyLog;
        log.Enable(DirtyClient.Migration, allDirty: false);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0x23u, m.Memory.ReadU32(Pt + 0x200 * 4) & 0x63u);
        Assert.Equal(0x63u, m.Memory.ReadU32(Pt + 0x300 * 4) & 0x63u);
        Assert.Equal(0x20u, m.Memory.ReadU32(Pd) & 0x20u);
        Assert.Equal(0x1234u, m.Memory.ReadU32(0x30_0020));
        Assert.True(log.IsDirty(DirtyClient.Migration, (int)(Pt >> 12)), "the A/D update must reach the migration dirty log");
        Assert.True(log.IsDirty(DirtyClient.Migration, (int)(Pd >> 12)));
    }

    [Fact]
    public void AccessedBitUpdateKeepsTheRestOfTheEntry()
    {
        using CpuTestMachine m = Build();
        IdentityMap(m);
        m.Memory.WriteU32(Pt + 0x300 * 4, 0x30_0000 | 0xE03); // available bits 9-11 set
        m.Load(32, Code, a =>
        {
            EnablePaging(a);
            a.mov(ebx, __dword_ptr[0x30_0000]);
            a.hlt();
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0x30_0E23u, m.Memory.ReadU32(Pt + 0x300 * 4));
    }

    [Fact]
    public void CodeFetchedThroughPagingRunsFromTheMappedFrame()
    {
        using CpuTestMachine m = Build();
        IdentityMap(m);

        // Linear 0x40_0000 (second page table) maps to physical 0x20_0000.
        const uint pt2 = 0x8_2000;
        m.Memory.WriteU32(Pd + 4, pt2 | 3);
        m.Memory.WriteU32(pt2, 0x20_0000 | 3);
        m.Load(32, 0x20_0000, a =>
        {
            a.mov(__dword_ptr[Result], 0xC0DE);
            a.hlt();
        });
        m.Load(32, Code, a =>
        {
            EnablePaging(a);
            a.mov(eax, 0x40_0000);
            a.jmp(eax);
        });

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal(0xC0DEu, m.Memory.ReadU32(Result));
        Assert.Equal(0x20u, m.Memory.ReadU32(pt2) & 0x20u);
    }
}
