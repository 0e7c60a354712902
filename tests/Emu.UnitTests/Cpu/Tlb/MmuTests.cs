using Emu.Machine.Cpu;
using Emu.Machine.Cpu.Tlb;
using Emu.Machine.Memory;

namespace Emu.UnitTests.Cpu.Tlb;

/// <summary>The MMU alone over page tables in guest RAM: walks, A/D bits, #PF error codes, CR0.WP, TLB flushes.</summary>
public sealed unsafe class MmuTests : IDisposable
{
    private const uint PageDirectory = 0x1000;
    private const uint PageTable = 0x2000;
    private const uint Cr0Paging = X86Cpu.Cr0Pe | X86Cpu.Cr0Pg;

    /// <summary>The bit <see cref="Walk"/> sets when the walk faults.</summary>
    private const ulong Fault = 1UL << 63;

    // Linear pages the page table maps (PDE 1 → PageTable).
    private const uint UserPage = 0x0040_0000;        // → 0x5000, user, writable
    private const uint SupervisorRoPage = 0x0040_1000; // → 0x6000, supervisor, read-only
    private const uint AbsentPage = 0x0040_2000;      // not present
    private const uint UserRoPage = 0x0040_3000;      // → 0x7000, user, read-only
    private const uint LargePage = 0x0080_0000;       // PDE 2: a 4 MiB page at 0x0040_0000 when CR4.PSE is on

    private readonly RamBlock _ram = new("pc.ram", 8 * 1024 * 1024);
    private readonly AddressSpace _space = new();
    private readonly Mmu _mmu;

    public MmuTests()
    {
        _space.AddRam("ram", 0, _ram, 0, _ram.SizeBytes);
        _space.WriteU32(PageDirectory + 1 * 4, PageTable | Mmu.PteP | Mmu.PteRw | Mmu.PteUs);
        _space.WriteU32(PageDirectory + 2 * 4, 0x0040_0000 | Mmu.PteP | Mmu.PteRw | Mmu.PtePs);
        _space.WriteU32(PageTable + 0 * 4, 0x5000 | Mmu.PteP | Mmu.PteRw | Mmu.PteUs);
        _space.WriteU32(PageTable + 1 * 4, 0x6000 | Mmu.PteP);
        _space.WriteU32(PageTable + 3 * 4, 0x7000 | Mmu.PteP | Mmu.PteUs);
        _mmu = new Mmu(_space);
    }

    public void Dispose() => _ram.Dispose();

    private static PagingRegisters Paged(uint cr0 = Cr0Paging, uint cr4 = 0) => new(cr0, PageDirectory, cr4);

    /// <summary>The walk's result: the physical address, or the #PF error code with the high bit set.</summary>
    private ulong Walk(uint linear, bool write = false, bool user = false, PagingRegisters? paging = null) =>
        _mmu.TryTranslate(linear, write, user, paging ?? Paged(), out uint gpa, out _, out uint error) ? gpa : (1UL << 63) | error;

    [Fact]
    public void WithoutPagingLinearIsPhysical()
    {
        Assert.True(_mmu.TryTranslate(0x1234_5678, write: true, user: true, new PagingRegisters(X86Cpu.Cr0Pe, 0, 0), out uint gpa, out bool dirtyOk, out _));
        Assert.Equal(0x1234_5678u, gpa);
        Assert.True(dirtyOk);
    }

    [Fact]
    public void AFourKilobyteWalkSetsAccessedThenDirty()
    {
        Assert.Equal(0x5123UL, _mmu.TranslateForDebugger(UserPage + 0x123, Paged()));
        Assert.Equal(0u, _space.ReadU32(PageTable) & (Mmu.PteA | Mmu.PteD));

        Assert.True(_mmu.TryTranslate(UserPage + 0x123, write: false, user: true, Paged(), out uint gpa, out bool dirtyOk, out _));
        Assert.Equal(0x5123u, gpa);
        Assert.False(dirtyOk);
        Assert.Equal(Mmu.PteA, _space.ReadU32(PageTable) & (Mmu.PteA | Mmu.PteD));
        Assert.Equal(Mmu.PteA, _space.ReadU32(PageDirectory + 4) & Mmu.PteA);

        Assert.True(_mmu.TryTranslate(UserPage + 0x123, write: true, user: true, Paged(), out _, out dirtyOk, out _));
        Assert.True(dirtyOk);
        Assert.Equal(Mmu.PteA | Mmu.PteD, _space.ReadU32(PageTable) & (Mmu.PteA | Mmu.PteD));
    }

    [Fact]
    public void AFourMegabytePageNeedsCr4Pse()
    {
        Assert.Equal(0x0040_1234UL, Walk(LargePage + 0x1234, paging: Paged(cr4: X86Cpu.Cr4Pse)));
        Assert.Equal(0x0040_1234UL, _mmu.TranslateForDebugger(LargePage + 0x1234, Paged(cr4: X86Cpu.Cr4Pse)));

        // Without PSE the PS bit means nothing: the entry points at a page table of zeros.
        Assert.Equal(Fault | 0, Walk(LargePage + 0x1234));
    }

    [Fact]
    public void APaeWalkMapsTwoMegabytePages()
    {
        const uint pdpt = 0x3000, pd = 0x4000;
        _space.WriteU64(pdpt, pd | Mmu.PteP);
        _space.WriteU64(pd + 1 * 8, 0x0060_0000 | Mmu.PteP | Mmu.PteRw | Mmu.PtePs);
        var pae = new PagingRegisters(Cr0Paging, pdpt, X86Cpu.Cr4Pae);
        Assert.Equal(0x0060_0345UL, Walk(0x0020_0345, write: true, paging: pae));
        Assert.Equal(Fault | 2, Walk(0x0040_0000, write: true, paging: pae));
    }

    [Theory]
    [InlineData(SupervisorRoPage, false, true, 1 | 4)]   // user reads a supervisor page
    [InlineData(UserRoPage, true, true, 1 | 2 | 4)]      // user writes a read-only page
    [InlineData(AbsentPage, false, true, 4)]             // not present, from user
    [InlineData(AbsentPage, true, false, 2)]             // not present, supervisor write
    public void FaultsCarryTheirErrorCodes(uint linear, bool write, bool user, uint errorCode)
    {
        Assert.Equal(Fault | errorCode, Walk(linear + 8, write, user));
    }

    [Fact]
    public void Cr0WpMakesReadOnlyPagesReadOnlyForTheSupervisor()
    {
        Assert.Equal(0x6008UL, Walk(SupervisorRoPage + 8, write: true));
        Assert.Equal(Fault | 1 | 2, Walk(SupervisorRoPage + 8, write: true, paging: Paged(Cr0Paging | X86Cpu.Cr0Wp)));
        Assert.Equal(Fault | 1 | 2, Walk(UserRoPage + 8, write: true, paging: Paged(Cr0Paging | X86Cpu.Cr0Wp)));
    }

    [Fact]
    public void FlushPageDropsOnePageFromBothHalvesAndFlushDropsAll()
    {
        byte* host = _ram.HostPointer + 0x5000;
        const int user = Mmu.TlbSize;
        foreach (uint linear in (uint[])[UserPage, UserRoPage])
        {
            _mmu.FillRead(linear, 0, host, _ram, 5);
            _mmu.FillRead(linear, user, host, _ram, 5);
            _mmu.FillWrite(linear, user, host, _ram, 5);
        }

        _mmu.FlushPage(UserPage);
        Assert.False(Armed(_mmu.ReadTlb, UserPage, 0));
        Assert.False(Armed(_mmu.ReadTlb, UserPage, user));
        Assert.False(Armed(_mmu.WriteTlb, UserPage, user));
        Assert.True(Armed(_mmu.ReadTlb, UserRoPage, 0));
        Assert.True(Armed(_mmu.WriteTlb, UserRoPage, user));

        _mmu.Flush();
        Assert.All(_mmu.ReadTlb, e => Assert.Equal(0u, e.Tag));
        Assert.All(_mmu.WriteTlb, e => Assert.Equal(0u, e.Tag));
    }

    [Fact]
    public void TheCodeTlbKeepsAMappingUntilItsPageIsFlushed()
    {
        _space.WriteU8(0x5010, 0xC3);
        _space.WriteU8(0x7010, 0x90);
        Assert.Equal(0xC3, _mmu.FetchCodeByte(UserPage + 0x10, 0, Paged(), out _));

        // The guest remaps the page; the stale entry stands until INVLPG (or a CR3 load) drops it.
        _space.WriteU32(PageTable, 0x7000 | Mmu.PteP | Mmu.PteRw | Mmu.PteUs);
        Assert.True(_mmu.TryTranslateCode(UserPage + 0x10, 0, Paged(), out uint gpa, out _));
        Assert.Equal(0x5010u, gpa);

        _mmu.FlushPage(UserPage);
        Assert.Equal(0x90, _mmu.FetchCodeByte(UserPage + 0x10, 0, Paged(), out _));
        Assert.Equal(-1, _mmu.FetchCodeByte(AbsentPage, Mmu.TlbSize, Paged(), out uint error));
        Assert.Equal(4u, error);
    }

    private static bool Armed(TlbEntry[] tlb, uint linear, int mmuIndex) =>
        tlb[(int)((linear >> 12) & (Mmu.TlbSize - 1)) + mmuIndex].Tag == (linear | 1);
}
