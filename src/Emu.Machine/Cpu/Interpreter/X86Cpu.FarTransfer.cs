using Emu.Machine.Cpu.State;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// Far control transfer (QEMU seg_helper.c helper_ljmp_protected / helper_lcall_protected / helper_lret_protected /
/// helper_iret_*): far jumps, calls and returns, call gates, IRET, and the hand-off to task switching.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>The descriptor a far JMP/CALL names: #GP(0) for a null selector (QEMU helper_ljmp_protected).</summary>
    private bool ReadFarTarget(ushort selector, out uint lo, out uint hi, out uint address)
    {
        if ((selector & 0xFFFC) == 0)
        {
            lo = hi = address = 0;
            RaiseFault(ExceptionGp, 0);
            return false;
        }

        return ReadDescriptor(selector, out lo, out hi, out address);
    }

    /// <summary>A direct far JMP/CALL to a code segment: privilege and presence, then the offset against the new limit.</summary>
    private bool CheckDirectCodeTarget(ushort selector, uint lo, uint hi, uint offset)
    {
        if (!CheckCodeDescriptor(selector, hi, _cpl, isReturn: false))
        {
            return false;
        }

        if (offset > DescriptorLimit(lo, hi))
        {
            RaiseFault(ExceptionGp, 0);
            return false;
        }

        return true;
    }

    /// <summary>
    /// A far JMP or CALL (QEMU helper_ljmp_protected / helper_lcall_protected): real and virtual-8086 mode load CS
    /// directly; protected mode goes to a code segment, through a call gate, or to a task (TSS or task gate).
    /// </summary>
    private void FarTransfer(bool call, ushort selector, uint offset, int size)
    {
        if (!ProtectedMode || Vm86)
        {
            if (call && !PushFarReturn(size))
            {
                return;
            }

            LoadRealSegment(SegCs, selector);
            _nextEip = size == 2 ? offset & 0xFFFF : offset;
            _blockExit = true;
            return;
        }

        if (!ReadFarTarget(selector, out uint lo, out uint hi, out uint address))
        {
            return;
        }

        if ((hi & SegmentCache.FlagS) != 0)
        {
            if (!CheckDirectCodeTarget(selector, lo, hi, offset) || (call && !PushFarReturn(size)))
            {
                return;
            }

            LoadCs(selector, lo, hi, address, _cpl);
            _nextEip = offset;
            _blockExit = true;
            return;
        }

        int type = (int)((hi >> 8) & 0xF);
        switch (type)
        {
            case 4:
            case 12:
                if (call)
                {
                    CallGate(selector, lo, hi, type);
                }
                else
                {
                    JumpGate(selector, lo, hi, type);
                }

                return;
            case 1:
            case 9:
            case 5:
                {
                    // A TSS or task gate: DPL must admit both CPL and RPL (busy TSS types 3/11 fall to #GP).
                    int dpl = (int)((hi >> 13) & 3);
                    if (dpl < _cpl || dpl < (selector & 3))
                    {
                        RaiseFault(ExceptionGp, selector & 0xFFFCu);
                        return;
                    }

                    SwitchTask(selector, lo, hi, call ? TaskSwitchSource.Call : TaskSwitchSource.Jump, _nextEip);
                    return;
                }

            default:
                RaiseFault(ExceptionGp, selector & 0xFFFCu);
                return;
        }
    }

    /// <summary>Pushes CS and the return EIP of a far CALL that stays at this privilege level; false when a push would fault.</summary>
    private bool PushFarReturn(int size)
    {
        if (!ProbeWriteSeg(SegSs, (_gpr[RegEsp] - (uint)(2 * size)) & StackMask, 2 * size))
        {
            return false;
        }

        Push(_seg[SegCs].Selector, size);
        Push(_nextEip, size);
        return true;
    }

    /// <summary>JMP through a call gate: to the gate's code segment without a privilege change.</summary>
    private void JumpGate(ushort selector, uint lo, uint hi, int type)
    {
        if (!CheckGate(selector, lo, hi, out ushort target, out uint gateOffset))
        {
            return;
        }

        if (!ReadDescriptor(target, out uint clo, out uint chi, out uint caddr) || !CheckCodeDescriptor(target, chi, _cpl, isReturn: false))
        {
            return;
        }

        LoadCs(target, clo, chi, caddr, _cpl);
        _nextEip = type == 12 ? gateOffset : gateOffset & 0xFFFF;
        _blockExit = true;
    }

    /// <summary>CALL through a call gate: to an inner level switches to the TSS stack and copies the parameters.</summary>
    private void CallGate(ushort selector, uint lo, uint hi, int type)
    {
        if (!CheckGate(selector, lo, hi, out ushort target, out uint gateOffset))
        {
            return;
        }

        bool gate32 = type == 12;
        int n = gate32 ? 4 : 2;
        int paramCount = (int)(hi & 0x1F);
        if (!ReadDescriptor(target, out uint clo, out uint chi, out uint caddr))
        {
            return;
        }

        int dpl = (int)((chi >> 13) & 3);
        if ((chi & (SegmentCache.FlagS | SegmentCache.TypeCode)) != (SegmentCache.FlagS | SegmentCache.TypeCode) || dpl > _cpl)
        {
            RaiseFault(ExceptionGp, target & 0xFFFCu);
            return;
        }

        if ((chi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, target & 0xFFFCu);
            return;
        }

        bool conforming = (chi & SegmentCache.TypeExpandDown) != 0;
        ushort oldCs = _seg[SegCs].Selector;
        uint returnEip = _nextEip;
        if (!conforming && dpl < _cpl)
        {
            // Inner level: switch to the TSS stack and copy the parameters (QEMU helper_lcall_protected).
            if (!ReadInnerStack(dpl, out ushort newSs, out uint newEsp, out uint slo, out uint shi, out uint saddr))
            {
                return;
            }

            uint ssBase = DescriptorBase(slo, shi);
            uint spMask = (shi & SegmentCache.FlagB) != 0 ? 0xFFFF_FFFF : 0xFFFF;
            uint sp = newEsp;
            ushort oldSs = _seg[SegSs].Selector;
            uint oldEsp = _gpr[RegEsp];
            uint oldSsBase = _seg[SegSs].Base;
            uint oldMask = StackMask;
            Push(ssBase, ref sp, spMask, n, oldSs);
            Push(ssBase, ref sp, spMask, n, oldEsp);
            for (int i = paramCount - 1; i >= 0; i--)
            {
                uint p = ReadSys(oldSsBase + ((oldEsp + (uint)(i * n)) & oldMask), n);
                Push(ssBase, ref sp, spMask, n, p);
            }

            Push(ssBase, ref sp, spMask, n, oldCs);
            Push(ssBase, ref sp, spMask, n, returnEip);
            if (_faultVector >= 0)
            {
                return;
            }

            EnterInnerStack(newSs, dpl, slo, shi, saddr, sp);
            LoadCs(target, clo, chi, caddr, dpl);
        }
        else
        {
            if (!PushFarReturn(n))
            {
                return;
            }

            LoadCs(target, clo, chi, caddr, _cpl);
        }

        _nextEip = gate32 ? gateOffset : gateOffset & 0xFFFF;
        _blockExit = true;
    }

    private bool CheckGate(ushort selector, uint lo, uint hi, out ushort target, out uint offset)
    {
        target = 0;
        offset = 0;
        int dpl = (int)((hi >> 13) & 3);
        if (dpl < _cpl || dpl < (selector & 3))
        {
            RaiseFault(ExceptionGp, selector & 0xFFFCu);
            return false;
        }

        if ((hi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, selector & 0xFFFCu);
            return false;
        }

        target = (ushort)(lo >> 16);
        offset = (lo & 0xFFFF) | (hi & 0xFFFF_0000);
        return true;
    }

    private void RetFar(in Instruction ins)
    {
        int size = StackOperandSize(in ins);
        uint imm = ins.OpCount > 0 ? ins.Immediate16 : 0u;
        uint offset = PeekStack(0, size);
        ushort selector = (ushort)PeekStack((uint)size, 2);
        if (_faultVector >= 0)
        {
            return;
        }

        if (!ProtectedMode || Vm86)
        {
            AdjustStack((uint)(2 * size) + imm);
            LoadRealSegment(SegCs, selector);
            _nextEip = size == 2 ? offset & 0xFFFF : offset;
            _blockExit = true;
            return;
        }

        ReturnProtected(selector, offset, size, (uint)(2 * size) + imm, imm, iret: false, 0);
    }

    /// <summary>The protected-mode tail of RETF and IRET: CS checks, and SS:ESP from the stack on a return to an outer level.</summary>
    private void ReturnProtected(ushort selector, uint offset, int size, uint popped, uint imm, bool iret, uint newFlags)
    {
        if ((selector & 0xFFFC) == 0)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        if (!ReadDescriptor(selector, out uint lo, out uint hi, out uint address) || !CheckCodeDescriptor(selector, hi, _cpl, isReturn: true))
        {
            return;
        }

        int rpl = selector & 3;
        if (rpl == _cpl)
        {
            if (offset > DescriptorLimit(lo, hi))
            {
                RaiseFault(ExceptionGp, 0);
                return;
            }

            AdjustStack(popped);
            LoadCs(selector, lo, hi, address, _cpl);
        }
        else
        {
            uint newEsp = PeekStack(popped, size);
            ushort newSs = (ushort)PeekStack(popped + (uint)size, 2);
            if (_faultVector >= 0)
            {
                return;
            }

            if ((newSs & 0xFFFC) == 0 || (newSs & 3) != rpl)
            {
                RaiseFault(ExceptionGp, newSs & 0xFFFCu);
                return;
            }

            if (!ReadDescriptor(newSs, out uint slo, out uint shi, out uint saddr))
            {
                return;
            }

            if (((shi >> 13) & 3) != rpl || (shi & (SegmentCache.FlagS | SegmentCache.TypeCode | SegmentCache.TypeWritable)) != (SegmentCache.FlagS | SegmentCache.TypeWritable))
            {
                RaiseFault(ExceptionGp, newSs & 0xFFFCu);
                return;
            }

            if ((shi & SegmentCache.FlagP) == 0)
            {
                RaiseFault(ExceptionSs, newSs & 0xFFFCu);
                return;
            }

            LoadCs(selector, lo, hi, address, rpl);
            MarkAccessed(saddr, shi);
            SetSegmentCache(SegSs, newSs, DescriptorBase(slo, shi), DescriptorLimit(slo, shi), (shi & SegmentCache.FlagsMask) | SegmentCache.TypeAccessed);
            uint mask = StackMask;
            _gpr[RegEsp] = (_gpr[RegEsp] & ~mask) | ((newEsp + imm) & mask);
            ValidateSegmentsForOuterLevel();
        }

        if (iret)
        {
            ApplyIretFlags(newFlags, size);
        }

        _nextEip = size == 2 ? offset & 0xFFFF : offset;
        _blockExit = true;
    }

    private void Iret(int size)
    {
        uint offset = PeekStack(0, size);
        ushort selector = (ushort)PeekStack((uint)size, 2);
        uint flags = PeekStack((uint)(2 * size), size);
        if (_faultVector >= 0)
        {
            return;
        }

        // IRET ends an NMI handler: the next NMI may come.
        _nmiBlocked = false;
        if (!ProtectedMode)
        {
            AdjustStack((uint)(3 * size));
            LoadRealSegment(SegCs, selector);
            SetEflags(flags, size == 2 ? 0xFFFF : 0x0025_7FD5 & ~FlagVm);
            _nextEip = size == 2 ? offset & 0xFFFF : offset;
            _blockExit = true;
            return;
        }

        if (Vm86)
        {
            if (IoplOf() < 3)
            {
                RaiseFault(ExceptionGp, 0);
                return;
            }

            AdjustStack((uint)(3 * size));
            LoadRealSegment(SegCs, selector);
            SetEflags(flags, (size == 2 ? 0xFFFFu : 0xFFFF_FFFFu) & ~(FlagIopl | FlagVm | FlagVip | FlagVif));
            _nextEip = size == 2 ? offset & 0xFFFF : offset;
            _blockExit = true;
            return;
        }

        if ((_eflags & FlagNt) != 0)
        {
            // Nested task: return to the task in the back link.
            ushort link = (ushort)ReadSys(_tr.Base, 2);
            if (_faultVector >= 0)
            {
                return;
            }

            if ((link & 4) != 0 || !ReadDescriptor(link, out uint lo, out uint hi, out _))
            {
                RaiseFault(ExceptionTs, link & 0xFFFCu);
                return;
            }

            SwitchTask(link, lo, hi, TaskSwitchSource.Iret, _nextEip);
            return;
        }

        if (size == 4 && (flags & FlagVm) != 0 && _cpl == 0)
        {
            IretToVm86(offset, selector, flags);
            return;
        }

        _iretCpl = _cpl;
        ReturnProtected(selector, offset, size, (uint)(3 * size), 0, iret: true, flags);
    }

    private void ApplyIretFlags(uint flags, int size)
    {
        uint mask = ArithFlags | FlagTf | FlagDf | FlagNt | FlagRf | FlagAc | FlagId | FlagVif | FlagVip;
        if (_iretCpl == 0)
        {
            mask |= FlagIopl | FlagIf;
        }
        else if (_iretCpl <= IoplOf())
        {
            mask |= FlagIf;
        }

        if (size == 2)
        {
            mask &= 0xFFFF;
        }

        SetEflags(flags, mask);
    }

    /// <summary>CPL before the IRET (the privilege that decides which flags it may change).</summary>
    private int _iretCpl;

    private void IretToVm86(uint offset, ushort selector, uint flags)
    {
        uint esp = PeekStack(12, 4);
        uint ss = PeekStack(16, 4);
        uint es = PeekStack(20, 4);
        uint ds = PeekStack(24, 4);
        uint fs = PeekStack(28, 4);
        uint gs = PeekStack(32, 4);
        if (_faultVector >= 0)
        {
            return;
        }

        SetEflags(flags, 0xFFFF_FFFF);
        _cpl = 3;
        for (int s = 0; s < 6; s++)
        {
            _seg[s].Flags = 0;
        }

        LoadRealSegment(SegCs, selector);
        LoadRealSegment(SegSs, (ushort)ss);
        LoadRealSegment(SegEs, (ushort)es);
        LoadRealSegment(SegDs, (ushort)ds);
        LoadRealSegment(SegFs, (ushort)fs);
        LoadRealSegment(SegGs, (ushort)gs);
        _gpr[RegEsp] = esp;
        UpdateMode();
        _nextEip = offset & 0xFFFF;
        _blockExit = true;
    }
}
