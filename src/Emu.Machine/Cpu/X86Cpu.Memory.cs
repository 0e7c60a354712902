using System.Runtime.CompilerServices;
using Emu.Machine.Cpu.State;
using Emu.Machine.Cpu.Tlb;
using Emu.Machine.Memory;

namespace Emu.Machine.Cpu;

/// <summary>
/// Linear and segmented memory access through the software TLB (QEMU cputlb.c). The fast path is one tag
/// compare in the MMU's entry arrays and a host load or store; a store then calls the write barrier
/// (<see cref="DirtyLog.MarkPageDirty"/>). Misses translate (<see cref="Mmu"/>), then fill the entry from
/// <see cref="AddressSpace.TryGetRamPage"/>; MMIO and unmapped addresses go through the address space each time.
/// Faults are CPU state (<see cref="RaiseFault"/>) plus a zero result, never a .NET exception.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    /// <summary>The MMU: page walk and software TLBs.</summary>
    private readonly Mmu _tlb;

    /// <summary>The MMU's <see cref="Mmu.ReadTlb"/>, held here so a load's fast path is one field load and a tag compare.</summary>
    private readonly TlbEntry[] _tlbRead;

    /// <summary>The MMU's <see cref="Mmu.WriteTlb"/>, for the same reason.</summary>
    private readonly TlbEntry[] _tlbWrite;

    /// <summary>0 for supervisor accesses, <see cref="Mmu.TlbSize"/> for user (CPL 3): the TLB half in use (QEMU's mmu_idx).</summary>
    internal int _mmu;

    private void SetMmuIndex()
    {
        _mmu = _cpl == 3 ? Mmu.TlbSize : 0;
        _linkEpoch++;
    }

    internal void FlushTlb()
    {
        _tlb.Flush();
        _linkEpoch++;
    }

    /// <summary>INVLPG: drops one linear page from both privilege halves.</summary>
    internal void FlushTlbPage(uint linear)
    {
        _tlb.FlushPage(linear);
        _linkEpoch++;
    }

    // ---- linear access ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte ReadLin8(uint lin, int mmu)
    {
        ref TlbEntry e = ref _tlbRead[(int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu];
        if (e.Tag == ((lin & 0xFFFF_F000) | 1))
        {
            return e.Host[lin & 0xFFF];
        }

        return (byte)ReadLinSlow(lin, 1, mmu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ushort ReadLin16(uint lin, int mmu)
    {
        ref TlbEntry e = ref _tlbRead[(int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu];
        if (e.Tag == ((lin & 0xFFFF_F000) | 1) && (lin & 0xFFF) <= 0xFFE)
        {
            return Unsafe.ReadUnaligned<ushort>(e.Host + (lin & 0xFFF));
        }

        return (ushort)ReadLinSlow(lin, 2, mmu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal uint ReadLin32(uint lin, int mmu)
    {
        ref TlbEntry e = ref _tlbRead[(int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu];
        if (e.Tag == ((lin & 0xFFFF_F000) | 1) && (lin & 0xFFF) <= 0xFFC)
        {
            return Unsafe.ReadUnaligned<uint>(e.Host + (lin & 0xFFF));
        }

        return ReadLinSlow(lin, 4, mmu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteLin8(uint lin, byte value, int mmu)
    {
        ref TlbEntry e = ref _tlbWrite[(int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu];
        if (e.Tag == ((lin & 0xFFFF_F000) | 1))
        {
            e.Host[lin & 0xFFF] = value;
            e.Log!.MarkPageDirty(e.PageIndex);
            return;
        }

        WriteLinSlow(lin, 1, value, mmu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteLin16(uint lin, ushort value, int mmu)
    {
        ref TlbEntry e = ref _tlbWrite[(int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu];
        if (e.Tag == ((lin & 0xFFFF_F000) | 1) && (lin & 0xFFF) <= 0xFFE)
        {
            Unsafe.WriteUnaligned(e.Host + (lin & 0xFFF), value);
            e.Log!.MarkPageDirty(e.PageIndex);
            return;
        }

        WriteLinSlow(lin, 2, value, mmu);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void WriteLin32(uint lin, uint value, int mmu)
    {
        ref TlbEntry e = ref _tlbWrite[(int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu];
        if (e.Tag == ((lin & 0xFFFF_F000) | 1) && (lin & 0xFFF) <= 0xFFC)
        {
            Unsafe.WriteUnaligned(e.Host + (lin & 0xFFF), value);
            e.Log!.MarkPageDirty(e.PageIndex);
            return;
        }

        WriteLinSlow(lin, 4, value, mmu);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint ReadLinSlow(uint lin, int size, int mmu)
    {
        if ((lin & 0xFFF) + (uint)size > 0x1000)
        {
            // Crosses a page: byte by byte, each through its own translation (either may fault).
            uint v = 0;
            for (int i = 0; i < size; i++)
            {
                v |= (uint)ReadLin8(lin + (uint)i, mmu) << (8 * i);
                if (_faultVector >= 0)
                {
                    return 0;
                }
            }

            return v;
        }

        if (!Translate(lin, write: false, user: mmu != 0, out uint gpa, out bool dirtyOk))
        {
            return 0;
        }

        _ = dirtyOk;
        if (_memory.TryGetRamPage(gpa, write: false, out RamBlock block, out int pageIndex, out byte* host))
        {
            _tlb.FillRead(lin, mmu, host, block, pageIndex);
            byte* p = host + (lin & 0xFFF);
            return size switch { 1 => *p, 2 => Unsafe.ReadUnaligned<ushort>(p), _ => Unsafe.ReadUnaligned<uint>(p) };
        }

        return (uint)_memory.Read(gpa, size);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteLinSlow(uint lin, int size, uint value, int mmu)
    {
        if ((lin & 0xFFF) + (uint)size > 0x1000)
        {
            // Probe every byte first so a fault on the second page leaves the first unwritten.
            for (int i = 0; i < size; i++)
            {
                if (!Translate(lin + (uint)i, write: true, user: mmu != 0, out _, out _))
                {
                    return;
                }
            }

            for (int i = 0; i < size; i++)
            {
                WriteLin8(lin + (uint)i, (byte)(value >> (8 * i)), mmu);
            }

            return;
        }

        if (!Translate(lin, write: true, user: mmu != 0, out uint gpa, out bool dirtyOk))
        {
            return;
        }

        if (_memory.TryGetRamPage(gpa, write: true, out RamBlock block, out int pageIndex, out byte* host))
        {
            byte* p = host + (lin & 0xFFF);
            switch (size)
            {
                case 1:
                    *p = (byte)value;
                    break;
                case 2:
                    Unsafe.WriteUnaligned(p, (ushort)value);
                    break;
                default:
                    Unsafe.WriteUnaligned(p, value);
                    break;
            }

            block.DirtyLog.MarkPageDirty(pageIndex);
            if (dirtyOk)
            {
                // Armed only once the page table's D bit is set, so the first store per page still walks.
                _tlb.FillWrite(lin, mmu, host, block, pageIndex);
            }

            return;
        }

        _memory.Write(gpa, size, value);
    }

    // ---- segmented access (the instruction's view) ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool SegCheck(int seg, uint offset, int size, bool write)
    {
        ref SegmentCache s = ref _seg[seg];
        bool ok = write ? s.CanWrite : s.CanRead;
        if (ok && !s.ExpandDown)
        {
            ok = (ulong)offset + (uint)(size - 1) <= s.Limit;
        }
        else if (ok)
        {
            ok = offset > s.Limit && (ulong)offset + (uint)(size - 1) <= (s.Big ? 0xFFFF_FFFFUL : 0xFFFFUL);
        }

        if (!ok)
        {
            SegmentFault(seg, write);
        }

        return ok;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SegmentFault(int seg, bool write)
    {
        _ = write;
        if (!ProtectedMode && seg != SegSs)
        {
            RaiseFault(ExceptionGp, 0);
        }
        else
        {
            RaiseFault(seg == SegSs ? ExceptionSs : ExceptionGp, 0);
        }
    }

    internal uint ReadSeg(int seg, uint offset, int size)
    {
        if (!SegCheck(seg, offset, size, write: false))
        {
            return 0;
        }

        uint lin = _seg[seg].Base + offset;
        return size switch
        {
            1 => ReadLin8(lin, _mmu),
            2 => ReadLin16(lin, _mmu),
            _ => ReadLin32(lin, _mmu),
        };
    }

    internal void WriteSeg(int seg, uint offset, int size, uint value)
    {
        if (!SegCheck(seg, offset, size, write: true))
        {
            return;
        }

        uint lin = _seg[seg].Base + offset;
        switch (size)
        {
            case 1:
                WriteLin8(lin, (byte)value, _mmu);
                break;
            case 2:
                WriteLin16(lin, (ushort)value, _mmu);
                break;
            default:
                WriteLin32(lin, value, _mmu);
                break;
        }
    }

    /// <summary>Checks that a write would succeed (segment and page) without writing: for multi-part stores.</summary>
    internal bool ProbeWriteSeg(int seg, uint offset, int size)
    {
        if (!SegCheck(seg, offset, size, write: true))
        {
            return false;
        }

        uint lin = _seg[seg].Base + offset;
        return Translate(lin, write: true, user: _mmu != 0, out _, out _)
            && ((lin & 0xFFF) + (uint)size <= 0x1000 || Translate(lin + (uint)size - 1, write: true, user: _mmu != 0, out _, out _));
    }

    // ---- system accesses (descriptor tables, TSS): always supervisor ----

    internal uint ReadSys(uint lin, int size) => size switch
    {
        1 => ReadLin8(lin, 0),
        2 => ReadLin16(lin, 0),
        _ => ReadLin32(lin, 0),
    };

    internal void WriteSys(uint lin, int size, uint value)
    {
        switch (size)
        {
            case 1:
                WriteLin8(lin, (byte)value, 0);
                break;
            case 2:
                WriteLin16(lin, (ushort)value, 0);
                break;
            default:
                WriteLin32(lin, value, 0);
                break;
        }
    }
}
