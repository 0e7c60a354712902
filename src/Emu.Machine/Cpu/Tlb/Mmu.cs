using Emu.Machine.Memory;
using static Emu.Machine.Cpu.X86Cpu;

namespace Emu.Machine.Cpu.Tlb;

/// <summary>
/// The MMU (QEMU target/i386 mmu_translate behind accel/tcg cputlb.c): linear to physical translation with 2-level
/// 4 KiB paging, 4 MiB pages with CR4.PSE, and PAE's 3-level walk with 2 MiB pages, setting accessed and dirty
/// bits and checking U/S and R/W (CR0.WP for supervisor writes); and the software TLBs in front of the walk. Each
/// TLB has a supervisor half and a user half; the CPU passes its MMU index (0 or <see cref="TlbSize"/>), so an
/// entry is found at <c>((linear &gt;&gt; 12) &amp; (TlbSize − 1)) + mmuIndex</c>.
/// </summary>
/// <remarks>
/// A walk that fails returns the #PF error code; raising the fault (CR2, delivery) is the CPU's. The CPU keeps
/// readonly references to <see cref="ReadTlb"/> and <see cref="WriteTlb"/>, so its loads and stores, and tier 2's
/// compiled code, test a tag inline and call in here only on a miss. vCPU thread only, except
/// <see cref="TranslateForDebugger"/>.
/// </remarks>
internal sealed unsafe class Mmu
{
    internal const int TlbBits = 8;
    internal const int TlbSize = 1 << TlbBits;
    internal const uint PteP = 1, PteRw = 2, PteUs = 4, PteA = 0x20, PteD = 0x40, PtePs = 0x80;

    private readonly AddressSpace _memory;
    private readonly CodeTlbEntry[] _codeTlb = new CodeTlbEntry[2 * TlbSize];

    /// <summary>Page-table pages the walker has found in RAM (direct-mapped by physical page), dropped with the TLB.</summary>
    private readonly PageTableCacheEntry[] _ptCache = new PageTableCacheEntry[16];

    public Mmu(AddressSpace memory) => _memory = memory;

    /// <summary>Linear page → host page for loads (QEMU's addr_read).</summary>
    public TlbEntry[] ReadTlb { get; } = new TlbEntry[2 * TlbSize];

    /// <summary>
    /// Linear page → host page for stores (QEMU's addr_write): armed only where a store may go straight to RAM (the
    /// page table's D bit is set), so the first store per page still walks.
    /// </summary>
    public TlbEntry[] WriteTlb { get; } = new TlbEntry[2 * TlbSize];

    /// <summary>Linear page → physical page for instruction fetch (tag = linear page | 1), with the host page when it is RAM or ROM.</summary>
    private struct CodeTlbEntry
    {
        public uint Tag;
        public uint GpaPage;
        public byte* Host;
    }

    private struct PageTableCacheEntry
    {
        /// <summary>Physical page address | 1 when valid.</summary>
        public ulong Tag;
        public byte* Host;
        public DirtyLog? Log;
        public int PageIndex;
    }

    /// <summary>
    /// Translates one linear address. <paramref name="dirtyOk"/> says a write may go straight to the page from now
    /// on (no paging, or the D bit is set); false from a read so reads never arm write entries. False with the #PF
    /// error code when the walk faults.
    /// </summary>
    public bool TryTranslate(uint linear, bool write, bool user, in PagingRegisters paging, out uint gpa, out bool dirtyOk, out uint pageFaultError)
    {
        if ((paging.Cr0 & Cr0Pg) == 0)
        {
            gpa = linear;
            dirtyOk = true;
            pageFaultError = 0;
            return true;
        }

        return (paging.Cr4 & Cr4Pae) != 0
            ? WalkPae(linear, write, user, in paging, out gpa, out dirtyOk, out pageFaultError)
            : Walk32(linear, write, user, in paging, out gpa, out dirtyOk, out pageFaultError);
    }

    /// <summary>An instruction fetch's translation through the code TLB (filled on a miss); false with the #PF error code.</summary>
    public bool TryTranslateCode(uint linear, int mmuIndex, in PagingRegisters paging, out uint gpa, out uint pageFaultError)
    {
        ref CodeTlbEntry e = ref _codeTlb[(int)((linear >> 12) & (TlbSize - 1)) + mmuIndex];
        if (e.Tag == ((linear & 0xFFFF_F000) | 1))
        {
            gpa = e.GpaPage | (linear & 0xFFF);
            pageFaultError = 0;
            return true;
        }

        if (!TryTranslate(linear, write: false, user: mmuIndex != 0, in paging, out gpa, out _, out pageFaultError))
        {
            return false;
        }

        e.Tag = (linear & 0xFFFF_F000) | 1;
        e.GpaPage = gpa & 0xFFFF_F000;
        e.Host = _memory.TryGetRamPage(gpa, write: false, out _, out _, out byte* host) ? host : null;
        return true;
    }

    /// <summary>One code byte for the decoder: straight from the host page when the code is in RAM or ROM; -1 with the #PF error code.</summary>
    public int FetchCodeByte(uint linear, int mmuIndex, in PagingRegisters paging, out uint pageFaultError)
    {
        ref CodeTlbEntry e = ref _codeTlb[(int)((linear >> 12) & (TlbSize - 1)) + mmuIndex];
        if (e.Tag == ((linear & 0xFFFF_F000) | 1) && e.Host != null)
        {
            pageFaultError = 0;
            return e.Host[linear & 0xFFF];
        }

        if (!TryTranslateCode(linear, mmuIndex, in paging, out uint gpa, out pageFaultError))
        {
            return -1;
        }

        return (byte)_memory.Read(gpa, 1);
    }

    /// <summary>Arms the read entry of <paramref name="linear"/>'s page: loads from it go straight to <paramref name="hostPage"/>.</summary>
    public void FillRead(uint linear, int mmuIndex, byte* hostPage, RamBlock block, int pageIndex) =>
        Fill(ref ReadTlb[(int)((linear >> 12) & (TlbSize - 1)) + mmuIndex], linear, hostPage, block, pageIndex);

    /// <summary>Arms the write entry of <paramref name="linear"/>'s page (call only once the walk said <c>dirtyOk</c>).</summary>
    public void FillWrite(uint linear, int mmuIndex, byte* hostPage, RamBlock block, int pageIndex) =>
        Fill(ref WriteTlb[(int)((linear >> 12) & (TlbSize - 1)) + mmuIndex], linear, hostPage, block, pageIndex);

    private static void Fill(ref TlbEntry e, uint linear, byte* hostPage, RamBlock block, int pageIndex)
    {
        e.Tag = (linear & 0xFFFF_F000) | 1;
        e.Host = hostPage;
        e.PageIndex = pageIndex;
        e.Log = block.DirtyLog;
    }

    /// <summary>Drops every entry (QEMU tlb_flush): a CR3 load, a paging mode change, a migration load.</summary>
    public void Flush()
    {
        Array.Clear(ReadTlb);
        Array.Clear(WriteTlb);
        Array.Clear(_codeTlb);
        Array.Clear(_ptCache);
    }

    /// <summary>INVLPG (QEMU tlb_flush_page): drops one linear page from both privilege halves.</summary>
    public void FlushPage(uint linear)
    {
        int i = (int)((linear >> 12) & (TlbSize - 1));
        ReadTlb[i] = default;
        ReadTlb[i + TlbSize] = default;
        WriteTlb[i] = default;
        WriteTlb[i + TlbSize] = default;
        _codeTlb[i] = default;
        _codeTlb[i + TlbSize] = default;
    }

    private bool Walk32(uint linear, bool write, bool user, in PagingRegisters paging, out uint gpa, out bool dirtyOk, out uint pageFaultError)
    {
        gpa = 0;
        dirtyOk = false;
        pageFaultError = 0;
        ulong pdeAddr = (paging.Cr3 & 0xFFFF_F000) + ((linear >> 22) << 2);
        uint pde = (uint)ReadPte(pdeAddr, 4);
        if ((pde & PteP) == 0)
        {
            return PageFault(write, user, present: false, out pageFaultError);
        }

        if ((pde & PtePs) != 0 && (paging.Cr4 & Cr4Pse) != 0)
        {
            if (!PermissionOk(pde, write, user, paging.Cr0))
            {
                return PageFault(write, user, present: true, out pageFaultError);
            }

            uint newPde = pde | PteA | (write ? PteD : 0);
            if (newPde != pde)
            {
                SetPteBits(pdeAddr, 4, newPde & ~pde);
            }

            gpa = (pde & 0xFFC0_0000) | (linear & 0x003F_FFFF);
            dirtyOk = (newPde & PteD) != 0 && write;
            return true;
        }

        ulong pteAddr = (pde & 0xFFFF_F000) + (((linear >> 12) & 0x3FF) << 2);
        uint pte = (uint)ReadPte(pteAddr, 4);
        if ((pte & PteP) == 0)
        {
            return PageFault(write, user, present: false, out pageFaultError);
        }

        uint combined = pde & pte;
        if (!PermissionOk(combined, write, user, paging.Cr0))
        {
            return PageFault(write, user, present: true, out pageFaultError);
        }

        if ((pde & PteA) == 0)
        {
            SetPteBits(pdeAddr, 4, PteA);
        }

        uint newPte = pte | PteA | (write ? PteD : 0);
        if (newPte != pte)
        {
            SetPteBits(pteAddr, 4, newPte & ~pte);
        }

        gpa = (pte & 0xFFFF_F000) | (linear & 0xFFF);
        dirtyOk = write;
        return true;
    }

    private bool WalkPae(uint linear, bool write, bool user, in PagingRegisters paging, out uint gpa, out bool dirtyOk, out uint pageFaultError)
    {
        gpa = 0;
        dirtyOk = false;
        pageFaultError = 0;
        ulong pdpteAddr = (paging.Cr3 & 0xFFFF_FFE0) + ((linear >> 30) << 3);
        ulong pdpte = ReadPte(pdpteAddr, 8);
        if ((pdpte & PteP) == 0)
        {
            return PageFault(write, user, present: false, out pageFaultError);
        }

        ulong pdeAddr = (pdpte & 0x000F_FFFF_FFFF_F000) + (((linear >> 21) & 0x1FF) << 3);
        ulong pde = ReadPte(pdeAddr, 8);
        if ((pde & PteP) == 0)
        {
            return PageFault(write, user, present: false, out pageFaultError);
        }

        if ((pde & PtePs) != 0)
        {
            if (!PermissionOk((uint)pde, write, user, paging.Cr0))
            {
                return PageFault(write, user, present: true, out pageFaultError);
            }

            ulong newPde = pde | PteA | (write ? PteD : 0);
            if (newPde != pde)
            {
                SetPteBits(pdeAddr, 8, newPde & ~pde);
            }

            gpa = (uint)((pde & 0xFFE0_0000) | (linear & 0x001F_FFFF));
            dirtyOk = write;
            return true;
        }

        ulong pteAddr = (pde & 0x000F_FFFF_FFFF_F000) + (((linear >> 12) & 0x1FF) << 3);
        ulong pte = ReadPte(pteAddr, 8);
        if ((pte & PteP) == 0)
        {
            return PageFault(write, user, present: false, out pageFaultError);
        }

        if (!PermissionOk((uint)(pde & pte), write, user, paging.Cr0))
        {
            return PageFault(write, user, present: true, out pageFaultError);
        }

        if ((pde & PteA) == 0)
        {
            SetPteBits(pdeAddr, 8, PteA);
        }

        ulong newPte = pte | PteA | (write ? PteD : 0);
        if (newPte != pte)
        {
            SetPteBits(pteAddr, 8, newPte & ~pte);
        }

        gpa = (uint)((pte & 0xFFFF_F000) | (linear & 0xFFF));
        dirtyOk = write;
        return true;
    }

    private static bool PermissionOk(uint entry, bool write, bool user, uint cr0)
    {
        if (user)
        {
            return (entry & PteUs) != 0 && (!write || (entry & PteRw) != 0);
        }

        return !write || (entry & PteRw) != 0 || (cr0 & Cr0Wp) == 0;
    }

    private static bool PageFault(bool write, bool user, bool present, out uint pageFaultError)
    {
        pageFaultError = (present ? 1u : 0) | (write ? 2u : 0) | (user ? 4u : 0);
        return false;
    }

    /// <summary>
    /// Host address of a page-table entry when its page is RAM (null for MMIO, ROM or unmapped: those go through the
    /// address space). Entries are naturally aligned, so one never straddles a page.
    /// </summary>
    private byte* PageTableEntry(ulong gpa, out DirtyLog? log, out int pageIndex)
    {
        ulong tag = (gpa & ~0xFFFUL) | 1;
        ref PageTableCacheEntry c = ref _ptCache[(int)((gpa >> 12) & 15)];
        if (c.Tag != tag)
        {
            if (!_memory.TryGetRamPage(gpa, write: true, out RamBlock block, out int index, out byte* host))
            {
                log = null;
                pageIndex = 0;
                return null;
            }

            c.Tag = tag;
            c.Host = host;
            c.Log = block.DirtyLog;
            c.PageIndex = index;
        }

        log = c.Log;
        pageIndex = c.PageIndex;
        return c.Host + (gpa & 0xFFF);
    }

    /// <summary>Reads a 4- or 8-byte paging-structure entry (another vCPU or a device may be writing it).</summary>
    private ulong ReadPte(ulong gpa, int size)
    {
        byte* p = PageTableEntry(gpa, out _, out _);
        if (p == null)
        {
            return _memory.Read(gpa, size);
        }

        return size == 4 ? Volatile.Read(ref *(uint*)p) : Volatile.Read(ref *(ulong*)p);
    }

    /// <summary>
    /// Sets accessed/dirty bits in an entry as the CPU's locked read-modify-write does (an OR, so a concurrent
    /// change of other bits is not lost), then the write barrier: it is a guest store to the page table's page.
    /// </summary>
    private void SetPteBits(ulong gpa, int size, ulong bits)
    {
        byte* p = PageTableEntry(gpa, out DirtyLog? log, out int pageIndex);
        if (p == null)
        {
            _memory.Write(gpa, size, _memory.Read(gpa, size) | bits);
            return;
        }

        if (size == 4)
        {
            Interlocked.Or(ref *(uint*)p, (uint)bits);
        }
        else
        {
            Interlocked.Or(ref *(ulong*)p, bits);
        }

        log!.MarkPageDirty(pageIndex);
    }

    /// <summary>
    /// The guest-physical address of <paramref name="linear"/> for a person (HMP <c>x</c>, a debugger): no A/D bits
    /// set, no fault, null when unmapped. Safe from any thread; consistent when the guest is stopped.
    /// </summary>
    public ulong? TranslateForDebugger(uint linear, in PagingRegisters paging)
    {
        if ((paging.Cr0 & Cr0Pg) == 0)
        {
            return linear;
        }

        if ((paging.Cr4 & Cr4Pae) == 0)
        {
            uint pde = _memory.ReadU32((paging.Cr3 & 0xFFFF_F000) + ((linear >> 22) << 2));
            if ((pde & PteP) == 0)
            {
                return null;
            }

            if ((pde & PtePs) != 0 && (paging.Cr4 & Cr4Pse) != 0)
            {
                return (pde & 0xFFC0_0000) | (linear & 0x003F_FFFF);
            }

            uint pte = _memory.ReadU32((pde & 0xFFFF_F000) + (((linear >> 12) & 0x3FF) << 2));
            return (pte & PteP) == 0 ? null : (pte & 0xFFFF_F000) | (linear & 0xFFF);
        }

        ulong pdpte = _memory.ReadU64((paging.Cr3 & 0xFFFF_FFE0) + ((linear >> 30) << 3));
        if ((pdpte & PteP) == 0)
        {
            return null;
        }

        ulong pde64 = _memory.ReadU64((pdpte & 0x000F_FFFF_FFFF_F000) + (((linear >> 21) & 0x1FF) << 3));
        if ((pde64 & PteP) == 0)
        {
            return null;
        }

        if ((pde64 & PtePs) != 0)
        {
            return (pde64 & 0x000F_FFFF_FFE0_0000) | (linear & 0x001F_FFFF);
        }

        ulong pte64 = _memory.ReadU64((pde64 & 0x000F_FFFF_FFFF_F000) + (((linear >> 12) & 0x1FF) << 3));
        return (pte64 & PteP) == 0 ? null : (pte64 & 0x000F_FFFF_FFFF_F000) | (linear & 0xFFF);
    }
}
