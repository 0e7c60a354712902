using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>Stack instructions: PUSH/POP (registers, memory, immediates, segments), PUSHA/POPA, PUSHF/POPF, ENTER/LEAVE.</summary>
public sealed partial class X86Cpu
{
    internal uint StackMask => _stack32 ? 0xFFFF_FFFF : 0xFFFF;

    /// <summary>Pushes one value; false (ESP unchanged) if the store faulted.</summary>
    internal bool Push(uint value, int size)
    {
        uint mask = StackMask;
        uint esp = _gpr[RegEsp];
        uint sp = (esp - (uint)size) & mask;
        WriteSeg(SegSs, sp, size, value);
        if (_faultVector >= 0)
        {
            return false;
        }

        _gpr[RegEsp] = (esp & ~mask) | sp;
        return true;
    }

    /// <summary>Reads the value <paramref name="offset"/> bytes above the stack top without popping.</summary>
    internal uint PeekStack(uint offset, int size) => ReadSeg(SegSs, (_gpr[RegEsp] + offset) & StackMask, size);

    internal void AdjustStack(uint bytes) => AdjustStack(bytes, StackMask);

    /// <summary>Moves the stack pointer within <paramref name="mask"/> (the stack's size when the access began).</summary>
    private void AdjustStack(uint bytes, uint mask) =>
        _gpr[RegEsp] = (_gpr[RegEsp] & ~mask) | ((_gpr[RegEsp] + bytes) & mask);

    /// <summary>The instruction's operand size for stack ops: forced by the opcode, else the code segment's default.</summary>
    private int StackOperandSize(in Instruction ins)
    {
        int forced = CodeOperandSize(ins.Code);
        return forced == 0 ? (_code32 ? 4 : 2) : forced / 8;
    }

    private void PushOp(in Instruction ins)
    {
        int size = StackOperandSize(in ins);
        uint v;
        if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister())
        {
            v = _seg[SegIndex(ins.Op0Register)].Selector;
        }
        else
        {
            v = ReadOp(in ins, 0, size);
            if (_faultVector >= 0)
            {
                return;
            }
        }

        Push(v, size);
    }

    private void PopOp(in Instruction ins)
    {
        int size = StackOperandSize(in ins);
        uint v = PeekStack(0, size);
        if (_faultVector >= 0)
        {
            return;
        }

        if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister())
        {
            Register r = ins.Op0Register;

            // POP SS steps the stack pointer by the old stack's size, not the size of the SS it loads.
            uint oldMask = StackMask;
            if (LoadSegment(SegIndex(r), (ushort)v))
            {
                AdjustStack((uint)size, oldMask);
                if (r == Register.SS)
                {
                    _shadowRequested = true;
                    _blockExit = true;
                }
            }

            return;
        }

        if (ins.Op0Kind == OpKind.Memory)
        {
            // The address is computed with ESP already incremented (Intel SDM, POP).
            uint saved = _gpr[RegEsp];
            AdjustStack((uint)size);
            WriteOp(in ins, 0, size, v);
            if (_faultVector >= 0)
            {
                _gpr[RegEsp] = saved;
            }

            return;
        }

        AdjustStack((uint)size);
        WriteOp(in ins, 0, size, v);
    }

    private void Pusha(int size)
    {
        uint mask = StackMask;
        uint esp = _gpr[RegEsp];
        if (!ProbeWriteSeg(SegSs, (esp - (uint)(8 * size)) & mask, 8 * size))
        {
            return;
        }

        for (int r = 0; r < 8; r++)
        {
            uint v = r == RegEsp ? esp : _gpr[r];
            Push(size == 2 ? v & 0xFFFF : v, size);
        }
    }

    private void Popa(int size)
    {
        uint[] values = _popaScratch;
        for (int i = 0; i < 8; i++)
        {
            values[7 - i] = PeekStack((uint)(i * size), size);
        }

        if (_faultVector >= 0)
        {
            return;
        }

        for (int r = 0; r < 8; r++)
        {
            if (r == RegEsp)
            {
                continue;
            }

            if (size == 2)
            {
                _gpr[r] = (_gpr[r] & 0xFFFF_0000) | (values[r] & 0xFFFF);
            }
            else
            {
                _gpr[r] = values[r];
            }
        }

        AdjustStack((uint)(8 * size));
    }

    private readonly uint[] _popaScratch = new uint[8];

    private void Pushf(int size)
    {
        if (Vm86 && IoplOf() < 3)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        uint f = GetEflags() & ~(FlagVm | FlagRf);
        Push(size == 2 ? f & 0xFFFF : f, size);
    }

    private void Popf(int size)
    {
        if (Vm86 && IoplOf() < 3)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        uint v = PeekStack(0, size);
        if (_faultVector >= 0)
        {
            return;
        }

        AdjustStack((uint)size);
        uint mask = ArithFlags | FlagTf | FlagDf | FlagNt | FlagAc | FlagId;
        if (_cpl == 0 || !ProtectedMode)
        {
            mask |= FlagIopl | FlagIf;
        }
        else if (_cpl <= IoplOf())
        {
            mask |= FlagIf;
        }

        if (size == 2)
        {
            mask &= 0xFFFF;
        }

        SetEflags(v, mask);
        _blockExit = true;
    }

    internal int IoplOf() => (int)((_eflags >> 12) & 3);

    private void Enter(in Instruction ins)
    {
        int size = StackOperandSize(in ins);
        uint frameSize = ins.Immediate16;
        int level = ins.Immediate8_2nd & 31;
        uint mask = StackMask;
        uint ebp = _gpr[RegEbp];
        uint esp = _gpr[RegEsp];
        uint sp = (esp - (uint)size) & mask;
        WriteSeg(SegSs, sp, size, ebp);
        uint frameTemp = sp;
        for (int i = 1; i < level && _faultVector < 0; i++)
        {
            uint bp = (ebp - (uint)(i * size)) & (_stack32 ? 0xFFFF_FFFF : 0xFFFF);
            uint v = ReadSeg(SegSs, bp, size);
            sp = (sp - (uint)size) & mask;
            WriteSeg(SegSs, sp, size, v);
        }

        if (level > 0 && _faultVector < 0)
        {
            sp = (sp - (uint)size) & mask;
            WriteSeg(SegSs, sp, size, frameTemp);
        }

        sp = (sp - frameSize) & mask;

        // ENTER ends with a write check of the new top of stack, which it never writes (Bochs; a 386 does the same):
        // a frame reaching into a page the caller may not write faults before any register changes.
        if (_faultVector >= 0 || !ProbeWriteSeg(SegSs, sp, size))
        {
            return;
        }

        // The stack's size, not the operand size, decides how much of EBP takes the frame (Intel SDM, ENTER):
        // o32 ENTER on a 16-bit stack writes BP only.
        if (!_stack32)
        {
            _gpr[RegEbp] = (ebp & 0xFFFF_0000) | (frameTemp & 0xFFFF);
        }
        else
        {
            _gpr[RegEbp] = frameTemp;
        }

        _gpr[RegEsp] = (esp & ~mask) | sp;
    }

    private void Leave(in Instruction ins)
    {
        int size = StackOperandSize(in ins);
        uint mask = StackMask;
        uint bp = _gpr[RegEbp] & mask;
        uint v = ReadSeg(SegSs, bp, size);
        if (_faultVector >= 0)
        {
            return;
        }

        _gpr[RegEsp] = (_gpr[RegEsp] & ~mask) | ((bp + (uint)size) & mask);
        if (size == 2)
        {
            _gpr[RegEbp] = (_gpr[RegEbp] & 0xFFFF_0000) | (v & 0xFFFF);
        }
        else
        {
            _gpr[RegEbp] = v;
        }
    }
}
