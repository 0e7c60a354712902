using Emu.Machine.Cpu.State;

namespace Emu.Machine.Cpu;

/// <summary>
/// Segment register loads and descriptor tables (QEMU seg_helper.c helper_load_seg): real-mode and
/// virtual-8086 loads, protected-mode loads with the manual's type, privilege and presence checks.
/// </summary>
public sealed partial class X86Cpu
{
    internal const uint RealModeDataFlags = SegmentCache.FlagP | SegmentCache.FlagS | SegmentCache.TypeWritable | SegmentCache.TypeAccessed;

    /// <summary>Real-mode segment load: base = selector × 16; the limit and flags stay (so "unreal mode" works, as on real CPUs).</summary>
    internal void LoadRealSegment(int seg, ushort selector)
    {
        ref SegmentCache s = ref _seg[seg];
        s.Selector = selector;
        s.Base = (uint)selector << 4;
        if (s.Flags == 0 || Vm86 || (s.Flags & SegmentCache.FlagP) == 0)
        {
            s.Limit = 0xFFFF;
            s.Flags = RealModeDataFlags | (Vm86 ? 3u << 13 : 0);
        }

        s.Refresh(usable: true, protectedMode: ProtectedMode);
        if (seg == SegSs || seg == SegCs)
        {
            UpdateMode();
        }

        if (seg == SegCs)
        {
            _linkEpoch++;
        }
    }

    internal void SetSegmentCache(int seg, ushort selector, uint baseAddress, uint limit, uint flags)
    {
        ref SegmentCache s = ref _seg[seg];
        s.Selector = selector;
        s.Base = baseAddress;
        s.Limit = limit;
        s.Flags = flags & SegmentCache.FlagsMask;
        s.Refresh(usable: !ProtectedMode || Vm86 || seg == SegCs || (selector & 0xFFFC) != 0, protectedMode: ProtectedMode);
        if (seg == SegCs || seg == SegSs)
        {
            UpdateMode();
        }

        if (seg == SegCs)
        {
            _linkEpoch++;
        }
    }

    /// <summary>Base of a descriptor's two dwords.</summary>
    internal static uint DescriptorBase(uint lo, uint hi) => (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF00_0000);

    /// <summary>Limit in bytes, scaled by the granularity bit.</summary>
    internal static uint DescriptorLimit(uint lo, uint hi)
    {
        uint limit = (lo & 0xFFFF) | (hi & 0x000F_0000);
        return (hi & SegmentCache.FlagG) != 0 ? (limit << 12) | 0xFFF : limit;
    }

    /// <summary>
    /// Reads the 8-byte descriptor for a selector from the GDT or LDT. On a limit violation raises #GP(selector)
    /// and returns false; <paramref name="address"/> is the descriptor's linear address (for the accessed bit).
    /// </summary>
    internal bool ReadDescriptor(ushort selector, out uint lo, out uint hi, out uint address)
    {
        lo = hi = address = 0;
        uint tableBase, tableLimit;
        if ((selector & 4) != 0)
        {
            if ((_ldtr.Selector & 0xFFFC) == 0)
            {
                RaiseFault(ExceptionGp, selector & 0xFFFCu);
                return false;
            }

            tableBase = _ldtr.Base;
            tableLimit = _ldtr.Limit;
        }
        else
        {
            tableBase = _gdtBase;
            tableLimit = _gdtLimit;
        }

        uint index = selector & 0xFFF8u;
        if (index + 7 > tableLimit)
        {
            RaiseFault(ExceptionGp, selector & 0xFFFCu);
            return false;
        }

        address = tableBase + index;
        lo = ReadSys(address, 4);
        hi = ReadSys(address + 4, 4);
        return _faultVector < 0;
    }

    /// <summary>Sets the accessed bit of a code/data descriptor in memory, as the CPU does on a load.</summary>
    private void MarkAccessed(uint address, uint hi)
    {
        if ((hi & SegmentCache.TypeAccessed) == 0)
        {
            WriteSys(address + 4, 4, hi | SegmentCache.TypeAccessed);
        }
    }

    /// <summary>MOV/POP/LDS to a data segment register or SS (QEMU helper_load_seg). False after raising the fault.</summary>
    internal bool LoadSegment(int seg, ushort selector)
    {
        if (!ProtectedMode || Vm86)
        {
            LoadRealSegment(seg, selector);
            return true;
        }

        if ((selector & 0xFFFC) == 0)
        {
            if (seg == SegSs)
            {
                RaiseFault(ExceptionGp, 0);
                return false;
            }

            SetSegmentCache(seg, selector, 0, 0, 0);
            return true;
        }

        if (!ReadDescriptor(selector, out uint lo, out uint hi, out uint address))
        {
            return false;
        }

        uint flags = hi & SegmentCache.FlagsMask;
        int dpl = (int)((hi >> 13) & 3);
        int rpl = selector & 3;
        bool code = (hi & SegmentCache.TypeCode) != 0;
        bool system = (hi & SegmentCache.FlagS) == 0;
        uint err = selector & 0xFFFCu;
        if (seg == SegSs)
        {
            if (system || code || (hi & SegmentCache.TypeWritable) == 0 || rpl != _cpl || dpl != _cpl)
            {
                RaiseFault(ExceptionGp, err);
                return false;
            }

            if ((hi & SegmentCache.FlagP) == 0)
            {
                RaiseFault(ExceptionSs, err);
                return false;
            }
        }
        else
        {
            if (system || (code && (hi & SegmentCache.TypeWritable) == 0))
            {
                RaiseFault(ExceptionGp, err);
                return false;
            }

            bool conforming = code && (hi & SegmentCache.TypeExpandDown) != 0;
            if (!conforming && (rpl > dpl || _cpl > dpl))
            {
                RaiseFault(ExceptionGp, err);
                return false;
            }

            if ((hi & SegmentCache.FlagP) == 0)
            {
                RaiseFault(ExceptionNp, err);
                return false;
            }
        }

        MarkAccessed(address, hi);
        SetSegmentCache(seg, selector, DescriptorBase(lo, hi), DescriptorLimit(lo, hi), flags | SegmentCache.TypeAccessed);
        return _faultVector < 0;
    }

    /// <summary>
    /// After a return to an outer privilege level, data segments the new CPL may not use become null
    /// (QEMU validate_seg).
    /// </summary>
    private void ValidateSegmentsForOuterLevel()
    {
        foreach (int seg in (ReadOnlySpan<int>)[SegEs, SegDs, SegFs, SegGs])
        {
            ref SegmentCache s = ref _seg[seg];
            bool conformingCode = (s.Flags & (SegmentCache.TypeCode | SegmentCache.TypeExpandDown)) == (SegmentCache.TypeCode | SegmentCache.TypeExpandDown);
            if (!conformingCode && s.Dpl < _cpl)
            {
                SetSegmentCache(seg, 0, 0, 0, 0);
            }
        }
    }

    /// <summary>Checks a code segment descriptor as a far JMP/CALL/RET target. Raises #GP/#NP and returns false on failure.</summary>
    private bool CheckCodeDescriptor(ushort selector, uint hi, int requiredCpl, bool isReturn)
    {
        uint err = selector & 0xFFFCu;
        if ((hi & (SegmentCache.FlagS | SegmentCache.TypeCode)) != (SegmentCache.FlagS | SegmentCache.TypeCode))
        {
            RaiseFault(ExceptionGp, err);
            return false;
        }

        int dpl = (int)((hi >> 13) & 3);
        int rpl = selector & 3;
        bool conforming = (hi & SegmentCache.TypeExpandDown) != 0;
        bool ok = isReturn
            ? (conforming ? dpl <= rpl : dpl == rpl) && rpl >= requiredCpl
            : conforming ? dpl <= requiredCpl : dpl == requiredCpl && rpl <= requiredCpl;
        if (!ok)
        {
            RaiseFault(ExceptionGp, err);
            return false;
        }

        if ((hi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, err);
            return false;
        }

        return true;
    }

    /// <summary>Loads CS from a checked descriptor at privilege level <paramref name="cpl"/>.</summary>
    private void LoadCs(ushort selector, uint lo, uint hi, uint address, int cpl)
    {
        MarkAccessed(address, hi);
        _cpl = cpl;
        SetSegmentCache(SegCs, (ushort)((selector & 0xFFFC) | cpl), DescriptorBase(lo, hi), DescriptorLimit(lo, hi), (hi & SegmentCache.FlagsMask) | SegmentCache.TypeAccessed);
    }
}
