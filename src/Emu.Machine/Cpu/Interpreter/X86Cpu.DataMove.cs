using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>Data movement: MOV (including segment, control and debug registers), MOVZX/MOVSX, LEA, XCHG, XLAT, CMOVcc, far pointer loads.</summary>
public sealed partial class X86Cpu
{
    private void Mov(in Instruction ins)
    {
        if (ins.Op0Kind == OpKind.Register)
        {
            Register dst = ins.Op0Register;
            if (dst.IsSegmentRegister())
            {
                MovToSegment(in ins, dst);
                return;
            }

            if (dst.IsCR())
            {
                MovToCr(dst, ReadReg(ins.Op1Register));
                return;
            }

            if (dst.IsDR())
            {
                if (CheckCpl0())
                {
                    _dr[dst - Register.DR0] = ReadReg(ins.Op1Register);
                }

                return;
            }
        }

        if (ins.Op1Kind == OpKind.Register)
        {
            Register src = ins.Op1Register;
            if (src.IsSegmentRegister())
            {
                // MOV r32, Sreg zero-extends; to memory it stores 16 bits.
                uint sel = _seg[SegIndex(src)].Selector;
                WriteOp(in ins, 0, ins.Op0Kind == OpKind.Register ? RegSize(ins.Op0Register) : 2, sel);
                return;
            }

            if (src.IsCR())
            {
                if (CheckCpl0())
                {
                    WriteReg(ins.Op0Register, ReadCr(src));
                }

                return;
            }

            if (src.IsDR())
            {
                if (CheckCpl0())
                {
                    WriteReg(ins.Op0Register, _dr[src - Register.DR0]);
                }

                return;
            }
        }

        int size = OperandSize(in ins, 0);
        uint v = ReadOp(in ins, 1, size);
        if (_faultVector < 0)
        {
            WriteOp(in ins, 0, size, v);
        }
    }

    private void MovToSegment(in Instruction ins, Register dst)
    {
        uint sel = ReadOp(in ins, 1, 2) & 0xFFFF;
        if (_faultVector >= 0)
        {
            return;
        }

        if (dst == Register.CS)
        {
            RaiseFault(ExceptionUd);
            return;
        }

        if (LoadSegment(SegIndex(dst), (ushort)sel) && dst == Register.SS)
        {
            _shadowRequested = true;
            _blockExit = true;
        }
    }

    private void MovExtend(in Instruction ins, bool signed)
    {
        int dstSize = OperandSize(in ins, 0);
        int srcSize = OperandSize(in ins, 1);
        uint v = ReadOp(in ins, 1, srcSize);
        if (_faultVector >= 0)
        {
            return;
        }

        if (signed)
        {
            v = srcSize == 1 ? (uint)(sbyte)v : (uint)(short)v;
        }

        WriteOp(in ins, 0, dstSize, v & MaskOf(dstSize));
    }

    private void Lea(in Instruction ins)
    {
        uint ea = EffectiveAddress(in ins);
        WriteReg(ins.Op0Register, ea);
    }

    private void Xchg(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        uint a = ReadOp(in ins, 0, size);
        uint b = ReadOp(in ins, 1, size);
        if (_faultVector >= 0)
        {
            return;
        }

        // Memory (if any) first, so a faulting store leaves both registers intact.
        if (ins.Op1Kind == OpKind.Memory)
        {
            WriteOp(in ins, 1, size, a);
            if (_faultVector < 0)
            {
                WriteOp(in ins, 0, size, b);
            }
        }
        else
        {
            WriteOp(in ins, 0, size, b);
            if (_faultVector < 0)
            {
                WriteOp(in ins, 1, size, a);
            }
        }
    }

    private void Xlat(in Instruction ins)
    {
        uint ea = EffectiveAddress(in ins);
        uint v = ReadSeg(SegIndex(ins.MemorySegment), ea, 1);
        if (_faultVector < 0)
        {
            WriteReg(Register.AL, v);
        }
    }

    private void Cmov(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        uint v = ReadOp(in ins, 1, size);
        if (_faultVector < 0 && Condition(ins.ConditionCode))
        {
            WriteOp(in ins, 0, size, v);
        }
    }

    /// <summary>LDS/LES/LFS/LGS/LSS: offset then selector from memory.</summary>
    private void LoadFarPointer(in Instruction ins, int seg)
    {
        int size = OperandSize(in ins, 0);
        int mseg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        uint offset = ReadSeg(mseg, ea, size);
        uint sel = ReadSeg(mseg, (ea + (uint)size) & (AddressIs32(in ins) ? 0xFFFF_FFFF : 0xFFFF), 2);
        if (_faultVector >= 0)
        {
            return;
        }

        if (LoadSegment(seg, (ushort)sel))
        {
            WriteReg(ins.Op0Register, offset);
            if (seg == SegSs)
            {
                _shadowRequested = true;
                _blockExit = true;
            }
        }
    }
}
