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

    private void Jmp(in Instruction ins) => Transfer(in ins, call: false);

    private void Call(in Instruction ins) => Transfer(in ins, call: true);

    /// <summary>
    /// JMP and CALL in all their forms (relative, direct far, indirect far, indirect near); CALL pushes the return
    /// address, and nothing changes unless the target passes the CS limit check.
    /// </summary>
    private void Transfer(in Instruction ins, bool call)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch16:
            case OpKind.NearBranch32:
                {
                    uint t = RelativeTarget(in ins);
                    if (BranchLimitOk(t) && (!call || Push(_nextEip, BranchMask(in ins) == 0xFFFF ? 2 : 4)))
                    {
                        _nextEip = t;
                    }

                    return;
                }

            case OpKind.FarBranch16:
            case OpKind.FarBranch32:
                FarTransfer(call, ins.FarBranchSelector, ins.Op0Kind == OpKind.FarBranch32 ? ins.FarBranch32 : ins.FarBranch16, ins.Op0Kind == OpKind.FarBranch32 ? 4 : 2);
                return;
        }

        if (ins.IsJmpFarIndirect || ins.IsCallFarIndirect)
        {
            int size = CodeOperandSize(ins.Code) / 8;
            ReadFarPointer(in ins, size, out uint offset, out ushort sel);
            if (_faultVector < 0)
            {
                FarTransfer(call, sel, offset, size);
            }

            return;
        }

        int opSize = OperandSize(in ins, 0);
        uint target = ReadOp(in ins, 0, opSize);
        if (_faultVector < 0 && BranchLimitOk(target) && (!call || Push(_nextEip, opSize)))
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
}
