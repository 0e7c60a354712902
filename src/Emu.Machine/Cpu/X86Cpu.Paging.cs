using Emu.Machine.Memory;

namespace Emu.Machine.Cpu;

/// <summary>
/// Linear to physical translation (QEMU mmu_translate): 2-level 4 KiB paging, 4 MiB pages with CR4.PSE, and
/// PAE's 3-level walk with 2 MiB pages. Sets accessed and dirty bits, checks U/S and R/W (CR0.WP for
/// supervisor writes) and raises #PF with CR2 and the error code.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    /// <summary>Page-table pages the walker has found in RAM (direct-mapped by physical page), dropped with the TLB.</summary>
    private readonly PageTableCacheEntry[] _ptCache = new PageTableCacheEntry[16];

    private struct PageTableCacheEntry
    {
        /// <summary>Physical page address | 1 when valid.</summary>
        public ulong Tag;
        public byte* Host;
        public DirtyLog? Log;
        public int PageIndex;
    }
    internal const uint PteP = 1, PteRw = 2, PteUs = 4, PteA = 0x20, PteD = 0x40, PtePs = 0x80;

    /// <summary>
    /// Translates one linear address. <paramref name="dirtyOk"/> says a write may go straight to the page from now
    /// on (no paging, or the D bit is set); false from a read so reads never arm write entries.
    /// </summary>
    internal bool Translate(uint lin, bool write, bool user, out uint gpa, out bool dirtyOk)
    {
        if ((_cr0 & Cr0Pg) == 0)
        {
            gpa = lin;
            dirtyOk = true;
            return true;
        }

        return (_cr4 & Cr4Pae) != 0
            ? WalkPae(lin, write, user, out gpa, out dirtyOk)
            : Walk32(lin, write, user, out gpa, out dirtyOk);
    }

    private bool Walk32(uint lin, bool write, bool user, out uint gpa, out bool dirtyOk)
    {
        gpa = 0;
        dirtyOk = false;
        ulong pdeAddr = (_cr3 & 0xFFFF_F000) + ((lin >> 22) << 2);
        uint pde = (uint)ReadPte(pdeAddr, 4);
        if ((pde & PteP) == 0)
        {
            return PageFault(lin, write, user, present: false);
        }

        if ((pde & PtePs) != 0 && (_cr4 & Cr4Pse) != 0)
        {
            if (!PermissionOk(pde, write, user))
            {
                return PageFault(lin, write, user, present: true);
            }

            uint newPde = pde | PteA | (write ? PteD : 0);
            if (newPde != pde)
            {
                SetPteBits(pdeAddr, 4, newPde & ~pde);
            }

            gpa = (pde & 0xFFC0_0000) | (lin & 0x003F_FFFF);
            dirtyOk = (newPde & PteD) != 0 && write;
            return true;
        }

        ulong pteAddr = (pde & 0xFFFF_F000) + (((lin >> 12) & 0x3FF) << 2);
        uint pte = (uint)ReadPte(pteAddr, 4);
        if ((pte & PteP) == 0)
        {
            return PageFault(lin, write, user, present: false);
        }

        uint combined = pde & pte;
        if (!PermissionOk(combined, write, user))
        {
            return PageFault(lin, write, user, present: true);
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

        gpa = (pte & 0xFFFF_F000) | (lin & 0xFFF);
        dirtyOk = write;
        return true;
    }

    private bool WalkPae(uint lin, bool write, bool user, out uint gpa, out bool dirtyOk)
    {
        gpa = 0;
        dirtyOk = false;
        ulong pdpteAddr = (_cr3 & 0xFFFF_FFE0) + ((lin >> 30) << 3);
        ulong pdpte = ReadPte(pdpteAddr, 8);
        if ((pdpte & PteP) == 0)
        {
            return PageFault(lin, write, user, present: false);
        }

        ulong pdeAddr = (pdpte & 0x000F_FFFF_FFFF_F000) + (((lin >> 21) & 0x1FF) << 3);
        ulong pde = ReadPte(pdeAddr, 8);
        if ((pde & PteP) == 0)
        {
            return PageFault(lin, write, user, present: false);
        }

        if ((pde & PtePs) != 0)
        {
            if (!PermissionOk((uint)pde, write, user))
            {
                return PageFault(lin, write, user, present: true);
            }

            ulong newPde = pde | PteA | (write ? PteD : 0);
            if (newPde != pde)
            {
                SetPteBits(pdeAddr, 8, newPde & ~pde);
            }

            gpa = (uint)((pde & 0xFFE0_0000) | (lin & 0x001F_FFFF));
            dirtyOk = write;
            return true;
        }

        ulong pteAddr = (pde & 0x000F_FFFF_FFFF_F000) + (((lin >> 12) & 0x1FF) << 3);
        ulong pte = ReadPte(pteAddr, 8);
        if ((pte & PteP) == 0)
        {
            return PageFault(lin, write, user, present: false);
        }

        if (!PermissionOk((uint)(pde & pte), write, user))
        {
            return PageFault(lin, write, user, present: true);
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

        gpa = (uint)((pte & 0xFFFF_F000) | (lin & 0xFFF));
        dirtyOk = write;
        return true;
    }

    private bool PermissionOk(uint entry, bool write, bool user)
    {
        if (user)
        {
            return (entry & PteUs) != 0 && (!write || (entry & PteRw) != 0);
        }

        return !write || (entry & PteRw) != 0 || (_cr0 & Cr0Wp) == 0;
    }

    private bool PageFault(uint lin, bool write, bool user, bool present)
    {
        _cr2 = lin;
        uint error = (present ? 1u : 0) | (write ? 2u : 0) | (user ? 4u : 0);
        RaiseFault(ExceptionPf, error);
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

    private void FlushPageTableCache() => Array.Clear(_ptCache);
}
