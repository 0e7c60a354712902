using Emu.Machine.Cpu.State;

namespace Emu.Machine.Cpu;

/// <summary>
/// Hardware task switching (QEMU seg_helper.c switch_tss_ra): JMP/CALL to a TSS or task gate, task gates in the
/// IDT, IRET with NT set. The whole new state is read before anything of the old task is written, so a fault
/// while reading it leaves the old task as it was. 16- and 32-bit TSS layouts:
/// <code>
///            32-bit TSS          16-bit TSS
/// link       0x00                0x00
/// CR3        0x1C                -
/// EIP        0x20                0x0E
/// EFLAGS     0x24                0x10
/// EAX..EDI   0x28 + 4 × reg      0x12 + 2 × reg
/// ES..GS     0x48 + 4 × seg      0x22 + 2 × seg (ES, CS, SS, DS only)
/// LDT        0x60                0x2A
/// </code>
/// Not modelled: the T (debug trap) bit and the I/O permission bitmap.
/// </summary>
public sealed partial class X86Cpu
{
    internal const uint TssBusy = 2u << 8;

    /// <summary>
    /// Switches to the task named by a TSS descriptor or a task gate (<paramref name="lo"/>/<paramref name="hi"/>,
    /// read for <paramref name="selector"/>). <paramref name="returnEip"/> is saved as the old task's EIP.
    /// On success CS:EIP are the new task's and the block ends; false with a fault pending.
    /// </summary>
    private bool SwitchTask(ushort selector, uint lo, uint hi, TaskSwitchSource source, uint returnEip)
    {
        int type = (int)((hi >> 8) & 0xF);
        if ((hi & SegmentCache.FlagS) == 0 && type == 5)
        {
            // Task gate: it names the TSS, which must be in the GDT.
            if ((hi & SegmentCache.FlagP) == 0)
            {
                RaiseFault(ExceptionNp, selector & 0xFFFCu);
                return false;
            }

            selector = (ushort)(lo >> 16);
            if ((selector & 4) != 0)
            {
                RaiseFault(ExceptionGp, selector & 0xFFFCu);
                return false;
            }

            if (!ReadDescriptor(selector, out lo, out hi, out _))
            {
                return false;
            }

            type = (int)((hi >> 8) & 0xF);
        }

        uint err = selector & 0xFFFCu;
        bool busy = (type & 2) != 0;
        if ((hi & SegmentCache.FlagS) != 0 || (type & 5) != 1 || (selector & 4) != 0)
        {
            RaiseFault(source == TaskSwitchSource.Iret ? ExceptionTs : ExceptionGp, err);
            return false;
        }

        if (busy != (source == TaskSwitchSource.Iret))
        {
            // JMP/CALL/INT need an available task; IRET returns to a busy one.
            RaiseFault(source == TaskSwitchSource.Iret ? ExceptionTs : ExceptionGp, err);
            return false;
        }

        if ((hi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, err);
            return false;
        }

        bool tss32 = (type & 8) != 0;
        uint newBase = DescriptorBase(lo, hi);
        uint newLimit = DescriptorLimit(lo, hi);
        if (newLimit < (tss32 ? 0x67u : 0x2Bu))
        {
            RaiseFault(ExceptionTs, err);
            return false;
        }

        // Read the new task's state.
        int w = tss32 ? 4 : 2;
        uint newCr3 = tss32 ? ReadSys(newBase + 0x1C, 4) : _cr3;
        uint newEip = ReadSys(newBase + (tss32 ? 0x20u : 0x0Eu), w);
        uint newFlags = ReadSys(newBase + (tss32 ? 0x24u : 0x10u), w);
        Span<uint> regs = stackalloc uint[8];
        for (int i = 0; i < 8; i++)
        {
            regs[i] = ReadSys(newBase + (tss32 ? 0x28u : 0x12u) + (uint)(i * w), w);
        }

        Span<ushort> segs = stackalloc ushort[6];
        int segCount = tss32 ? 6 : 4;
        for (int i = 0; i < segCount; i++)
        {
            segs[i] = (ushort)ReadSys(newBase + (tss32 ? 0x48u : 0x22u) + (uint)(i * w), 2);
        }

        ushort ldt = (ushort)ReadSys(newBase + (tss32 ? 0x60u : 0x2Au), 2);
        if (_faultVector >= 0)
        {
            return false;
        }

        // Save the old task (QEMU writes the same fields back into the current TSS).
        bool oldTss32 = ((_tr.Flags >> 8) & 8) != 0;
        int ow = oldTss32 ? 4 : 2;
        uint oldFlags = GetEflags();
        if (source == TaskSwitchSource.Iret)
        {
            oldFlags &= ~FlagNt;
        }

        WriteSys(_tr.Base + (oldTss32 ? 0x20u : 0x0Eu), ow, returnEip);
        WriteSys(_tr.Base + (oldTss32 ? 0x24u : 0x10u), ow, oldFlags);
        for (int i = 0; i < 8; i++)
        {
            WriteSys(_tr.Base + (oldTss32 ? 0x28u : 0x12u) + (uint)(i * ow), ow, _gpr[i]);
        }

        for (int i = 0; i < (oldTss32 ? 6 : 4); i++)
        {
            WriteSys(_tr.Base + (oldTss32 ? 0x48u : 0x22u) + (uint)(i * ow), 2, _seg[i].Selector);
        }

        if (_faultVector >= 0)
        {
            return false;
        }

        if (source is TaskSwitchSource.Jump or TaskSwitchSource.Iret)
        {
            SetTssBusy(_tr.Selector, busy: false);
        }

        if (source is TaskSwitchSource.Call or TaskSwitchSource.Interrupt)
        {
            WriteSys(newBase, 2, _tr.Selector);
            newFlags |= FlagNt;
        }

        if (source != TaskSwitchSource.Iret)
        {
            SetTssBusy(selector, busy: true);
        }

        _tr = new SegmentCache { Selector = selector, Base = newBase, Limit = newLimit, Flags = (hi | TssBusy) & SegmentCache.FlagsMask };
        _cr0 |= Cr0Ts;
        if (tss32 && (_cr0 & Cr0Pg) != 0)
        {
            _cr3 = newCr3;
            FlushTlb();
        }

        // The new task's registers; its segments are checked as loads in the new context (faults there are #TS).
        SetEflags(newFlags, tss32 ? 0xFFFF_FFFF : 0xFFFF);
        for (int i = 0; i < 8; i++)
        {
            _gpr[i] = tss32 ? regs[i] : (_gpr[i] & 0xFFFF_0000) | regs[i];
        }

        _eip = _nextEip = newEip;
        _blockExit = true;
        LoadTaskSegments(segs, segCount, ldt);
        UpdateMode();
        return _faultVector < 0;
    }

    /// <summary>Sets or clears the busy bit of a TSS descriptor in the GDT.</summary>
    private void SetTssBusy(ushort selector, bool busy)
    {
        uint address = _gdtBase + (selector & 0xFFF8u) + 4;
        uint hi = ReadSys(address, 4);
        WriteSys(address, 4, busy ? hi | TssBusy : hi & ~TssBusy);
    }

    /// <summary>LDTR, CS and the data segments of the new task (QEMU tss_load_seg); a bad selector is #TS.</summary>
    private void LoadTaskSegments(ReadOnlySpan<ushort> segs, int count, ushort ldt)
    {
        if (Vm86)
        {
            _cpl = 3;
            for (int i = 0; i < 6; i++)
            {
                _seg[i].Flags = 0;
                LoadRealSegment(i, i < count ? segs[i] : (ushort)0);
            }

            LoadLdtr(ldt, ExceptionTs);
            return;
        }

        ushort cs = segs[SegCs];
        _cpl = cs & 3;
        if (!LoadLdtr(ldt, ExceptionTs))
        {
            return;
        }

        if ((cs & 0xFFFC) == 0 || !ReadDescriptor(cs, out uint lo, out uint hi, out uint address))
        {
            RaiseTaskSegmentFault(cs);
            return;
        }

        int dpl = (int)((hi >> 13) & 3);
        bool conforming = (hi & SegmentCache.TypeExpandDown) != 0;
        if ((hi & (SegmentCache.FlagS | SegmentCache.TypeCode)) != (SegmentCache.FlagS | SegmentCache.TypeCode) || (conforming ? dpl > _cpl : dpl != _cpl))
        {
            RaiseTaskSegmentFault(cs);
            return;
        }

        if ((hi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, cs & 0xFFFCu);
            return;
        }

        LoadCs(cs, lo, hi, address, _cpl);
        foreach (int seg in (ReadOnlySpan<int>)[SegSs, SegDs, SegEs, SegFs, SegGs])
        {
            if (!LoadSegment(seg, seg < count ? segs[seg] : (ushort)0))
            {
                if (_faultVector == ExceptionGp)
                {
                    _faultVector = ExceptionTs;
                }

                return;
            }
        }
    }

    private void RaiseTaskSegmentFault(ushort selector)
    {
        if (_faultVector < 0)
        {
            RaiseFault(ExceptionTs, selector & 0xFFFCu);
        }
        else if (_faultVector == ExceptionGp)
        {
            _faultVector = ExceptionTs;
        }
    }
}
