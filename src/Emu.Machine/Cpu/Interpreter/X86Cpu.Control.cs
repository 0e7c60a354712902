using Emu.Machine.Cpu.State;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// Control transfer (QEMU seg_helper.c helper_ljmp_protected / helper_lcall_protected / helper_lret_protected /
/// helper_iret_*): near and far jumps, calls and returns, call gates, loops, software interrupts, IRET, HLT.
/// Near branch targets are kept relative to the next instruction, so a block is valid at any CS base.
/// </summary>
public sealed partial class X86Cpu
{
    private static readonly bool[] s_loopUsesEcx = BuildLoopTable();

    private static bool[] BuildLoopTable()
    {
        var t = new bool[Enum.GetValues<Code>().Length + 1];
        foreach (Code c in Enum.GetValues<Code>())
        {
            t[(int)c] = c.ToString().EndsWith("_ECX", StringComparison.Ordinal);
        }

        return t;
    }

    /// <summary>The IP mask of a near branch: 16-bit operand size truncates the target.</summary>
    private uint BranchMask(in Instruction ins)
    {
        int forced = CodeOperandSize(ins.Code);
        bool op32 = forced == 0 ? _code32 : forced == 32;
        return op32 ? 0xFFFF_FFFF : 0xFFFF;
    }

    private uint RelativeTarget(in Instruction ins)
    {
        uint rel = _code32 ? ins.NearBranch32 - ins.NextIP32 : (uint)(ins.NearBranch16 - ins.NextIP16);
        return (_nextEip + rel) & BranchMask(in ins);
    }

    private bool BranchLimitOk(uint target)
    {
        if (target > _seg[SegCs].Limit && (ProtectedMode && !Vm86))
        {
            RaiseFault(ExceptionGp, 0);
            return false;
        }

        return true;
    }

    private void Jcc(in Instruction ins)
    {
        if (Condition(ins.ConditionCode))
        {
            uint t = RelativeTarget(in ins);
            if (BranchLimitOk(t))
            {
                _nextEip = t;
            }
        }
    }

    private void Jmp(in Instruction ins)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16:
            case OpKind.NearBranch32:
                {
                    uint t = RelativeTarget(in ins);
                    if (BranchLimitOk(t))
                    {
                        _nextEip = t;
                    }

                    return;
                }

            case OpKind.FarBranch16:
            case OpKind.FarBranch32:
                FarJump(ins.FarBranchSelector, ins.Op0Kind == OpKind.FarBranch32 ? ins.FarBranch32 : ins.FarBranch16, ins.Op0Kind == OpKind.FarBranch32 ? 4 : 2);
                return;
        }

        if (ins.IsJmpFarIndirect)
        {
            int size = CodeOperandSize(ins.Code) / 8;
            ReadFarPointer(in ins, size, out uint offset, out ushort sel);
            if (_faultVector < 0)
            {
                FarJump(sel, offset, size);
            }

            return;
        }

        int opSize = OperandSize(in ins, 0);
        uint target = ReadOp(in ins, 0, opSize);
        if (_faultVector < 0 && BranchLimitOk(target))
        {
            _nextEip = target;
        }
    }

    private void ReadFarPointer(in Instruction ins, int size, out uint offset, out ushort selector)
    {
        int seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        offset = ReadSeg(seg, ea, size);
        selector = (ushort)ReadSeg(seg, (ea + (uint)size) & (AddressIs32(in ins) ? 0xFFFF_FFFF : 0xFFFF), 2);
    }

    private void Call(in Instruction ins)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16:
            case OpKind.NearBranch32:
                {
                    uint t = RelativeTarget(in ins);
                    int size = BranchMask(in ins) == 0xFFFF ? 2 : 4;
                    if (BranchLimitOk(t) && Push(_nextEip, size))
                    {
                        _nextEip = t;
                    }

                    return;
                }

            case OpKind.FarBranch16:
            case OpKind.FarBranch32:
                FarCall(ins.FarBranchSelector, ins.Op0Kind == OpKind.FarBranch32 ? ins.FarBranch32 : ins.FarBranch16, ins.Op0Kind == OpKind.FarBranch32 ? 4 : 2);
                return;
        }

        if (ins.IsCallFarIndirect)
        {
            int size = CodeOperandSize(ins.Code) / 8;
            ReadFarPointer(in ins, size, out uint offset, out ushort sel);
            if (_faultVector < 0)
            {
                FarCall(sel, offset, size);
            }

            return;
        }

        int opSize = OperandSize(in ins, 0);
        uint target = ReadOp(in ins, 0, opSize);
        if (_faultVector < 0 && BranchLimitOk(target) && Push(_nextEip, opSize))
        {
            _nextEip = target;
        }
    }

    private void RetNear(in Instruction ins)
    {
        int size = StackOperandSize(in ins);
        uint t = PeekStack(0, size);
        if (_faultVector >= 0 || !BranchLimitOk(t))
        {
            return;
        }

        AdjustStack((uint)size + (ins.OpCount > 0 ? ins.Immediate16 : 0u));
        _nextEip = t;
    }

    private void Loop(in Instruction ins)
    {
        bool ecx = s_loopUsesEcx[(int)ins.Code];
        uint count = (ecx ? _gpr[RegEcx] : _gpr[RegEcx] & 0xFFFF) - 1;
        bool taken = (ecx ? count : count & 0xFFFF) != 0;
        if (ins.Mnemonic == Mnemonic.Loope)
        {
            taken &= GetZf();
        }
        else if (ins.Mnemonic == Mnemonic.Loopne)
        {
            taken &= !GetZf();
        }

        uint t = RelativeTarget(in ins);
        if (taken && !BranchLimitOk(t))
        {
            return;
        }

        _gpr[RegEcx] = ecx ? count : (_gpr[RegEcx] & 0xFFFF_0000) | (count & 0xFFFF);
        if (taken)
        {
            _nextEip = t;
        }
    }

    private void Jcxz(in Instruction ins)
    {
        uint c = ins.Mnemonic == Mnemonic.Jecxz ? _gpr[RegEcx] : _gpr[RegEcx] & 0xFFFF;
        if (c == 0)
        {
            uint t = RelativeTarget(in ins);
            if (BranchLimitOk(t))
            {
                _nextEip = t;
            }
        }
    }

    private void SoftwareInterrupt(int vector)
    {
        if (Vm86 && IoplOf() < 3)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        DeliverInterrupt(vector, InterruptSource.Software, 0, _nextEip);
        if (_faultVector < 0)
        {
            _nextEip = _eip;
        }

        _blockExit = true;
    }

    private void Bound(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        int seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        uint lower = ReadSeg(seg, ea, size);
        uint upper = ReadSeg(seg, ea + (uint)size, size);
        if (_faultVector >= 0)
        {
            return;
        }

        int bits = size * 8;
        long v = SignExtend(ReadReg(ins.Op0Register), bits);
        if (v < SignExtend(lower, bits) || v > SignExtend(upper, bits))
        {
            RaiseFault(ExceptionBr);
        }
    }

    private void Hlt()
    {
        if (!CheckCpl0())
        {
            return;
        }

        _halted = true;
        _blockExit = true;
    }

    private void Cli()
    {
        if (ProtectedMode && _cpl > IoplOf())
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        _eflags &= ~FlagIf;
    }

    private void Sti()
    {
        if (ProtectedMode && _cpl > IoplOf())
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        if ((_eflags & FlagIf) == 0)
        {
            _shadowRequested = true;
        }

        _eflags |= FlagIf;
        _blockExit = true;
    }

    /// <summary>True at CPL 0 (or in real mode); otherwise raises #GP(0).</summary>
    internal bool CheckCpl0()
    {
        if (ProtectedMode && _cpl != 0)
        {
            RaiseFault(ExceptionGp, 0);
            return false;
        }

        return true;
    }

    // ---- far transfers ----

    private void FarJump(ushort selector, uint offset, int size)
    {
        if (!ProtectedMode || Vm86)
        {
            LoadRealSegment(SegCs, selector);
            _nextEip = size == 2 ? offset & 0xFFFF : offset;
            _blockExit = true;
            return;
        }

        if ((selector & 0xFFFC) == 0)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        if (!ReadDescriptor(selector, out uint lo, out uint hi, out uint address))
        {
            return;
        }

        if ((hi & SegmentCache.FlagS) != 0)
        {
            if (!CheckCodeDescriptor(selector, hi, _cpl, isReturn: false))
            {
                return;
            }

            if (offset > DescriptorLimit(lo, hi))
            {
                RaiseFault(ExceptionGp, 0);
                return;
            }

            LoadCs(selector, lo, hi, address, _cpl);
            _nextEip = offset;
            _blockExit = true;
            return;
        }

        int type = (int)((hi >> 8) & 0xF);
        if (type is 4 or 12)
        {
            // Call gate: JMP goes through it without a privilege change.
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
            return;
        }

        TaskSwitchUnsupported(selector);
    }

    private void TaskSwitchUnsupported(ushort selector)
    {
        _shutdownReason = $"cpu: task switch to selector 0x{selector:x4} at {_seg[SegCs].Selector:x4}:{_eip:x8}: hardware task switching is not implemented";
        Log.Warning("{Reason}", _shutdownReason);
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

    private void FarCall(ushort selector, uint offset, int size)
    {
        if (!ProtectedMode || Vm86)
        {
            uint cs = _seg[SegCs].Selector;
            if (!ProbeWriteSeg(SegSs, (_gpr[RegEsp] - (uint)(2 * size)) & StackMask, 2 * size))
            {
                return;
            }

            Push(cs, size);
            Push(_nextEip, size);
            LoadRealSegment(SegCs, selector);
            _nextEip = size == 2 ? offset & 0xFFFF : offset;
            _blockExit = true;
            return;
        }

        if ((selector & 0xFFFC) == 0)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        if (!ReadDescriptor(selector, out uint lo, out uint hi, out uint address))
        {
            return;
        }

        if ((hi & SegmentCache.FlagS) != 0)
        {
            if (!CheckCodeDescriptor(selector, hi, _cpl, isReturn: false))
            {
                return;
            }

            if (offset > DescriptorLimit(lo, hi))
            {
                RaiseFault(ExceptionGp, 0);
                return;
            }

            if (!ProbeWriteSeg(SegSs, (_gpr[RegEsp] - (uint)(2 * size)) & StackMask, 2 * size))
            {
                return;
            }

            Push(_seg[SegCs].Selector, size);
            Push(_nextEip, size);
            LoadCs(selector, lo, hi, address, _cpl);
            _nextEip = offset;
            _blockExit = true;
            return;
        }

        int type = (int)((hi >> 8) & 0xF);
        if (type is not (4 or 12))
        {
            TaskSwitchUnsupported(selector);
            return;
        }

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
            if (!ReadTssStack(dpl, out ushort newSs, out uint newEsp) || !ReadDescriptor(newSs, out uint slo, out uint shi, out uint saddr))
            {
                return;
            }

            if ((newSs & 3) != dpl || ((shi >> 13) & 3) != dpl || (shi & (SegmentCache.FlagS | SegmentCache.TypeCode | SegmentCache.TypeWritable)) != (SegmentCache.FlagS | SegmentCache.TypeWritable))
            {
                RaiseFault(ExceptionTs, newSs & 0xFFFCu);
                return;
            }

            if ((shi & SegmentCache.FlagP) == 0)
            {
                RaiseFault(ExceptionSs, newSs & 0xFFFCu);
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

            MarkAccessed(saddr, shi);
            _cpl = dpl;
            SetSegmentCache(SegSs, (ushort)((newSs & 0xFFFC) | dpl), ssBase, DescriptorLimit(slo, shi), (shi & SegmentCache.FlagsMask) | SegmentCache.TypeAccessed);
            _gpr[RegEsp] = (_gpr[RegEsp] & ~spMask) | (sp & spMask);
            LoadCs(target, clo, chi, caddr, dpl);
        }
        else
        {
            if (!ProbeWriteSeg(SegSs, (_gpr[RegEsp] - (uint)(2 * n)) & StackMask, 2 * n))
            {
                return;
            }

            Push(oldCs, n);
            Push(returnEip, n);
            LoadCs(target, clo, chi, caddr, _cpl);
        }

        _nextEip = gate32 ? gateOffset : gateOffset & 0xFFFF;
        _blockExit = true;
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
            TaskSwitchUnsupported(_tr.Selector);
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
