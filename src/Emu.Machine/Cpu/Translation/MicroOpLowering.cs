using Emu.Machine.Cpu.Cache;
using Iced.Intel;
using static Emu.Machine.Cpu.X86Cpu;

namespace Emu.Machine.Cpu.Translation;

/// <summary>
/// Lowering of Iced instructions to micro-ops, the block IR both tiers consume (the translator's second stage):
/// 32-bit operand and address size forms of the common integer instructions get a fast micro-op with operands
/// resolved; the rest stay <see cref="MicroOpKind.Generic"/> and run the Iced instruction in the interpreter.
/// </summary>
internal static class MicroOpLowering
{
    /// <summary>
    /// Lowers one instruction at <paramref name="offset"/> bytes into its block; <paramref name="fast"/> false (or
    /// 16-bit code) keeps every instruction generic.
    /// </summary>
    public static MicroOp Lower(in Instruction ins, ushort offset, bool code32, bool fast)
    {
        var op = new MicroOp { Kind = MicroOpKind.Generic, Length = (byte)ins.Length, Offset = offset };
        if (fast && code32 && !ins.HasLockPrefix)
        {
            LowerFast(in ins, ref op);
        }

        return op;
    }

    private static bool IsReg32(in Instruction ins, int n) => ins.GetOpKind(n) == OpKind.Register && ins.GetOpRegister(n).IsGPR32();

    private static bool IsImm32(in Instruction ins, int n) => ins.GetOpKind(n) is OpKind.Immediate32 or OpKind.Immediate8to32;

    /// <summary>True for a [base + index*scale + disp] operand with 32-bit registers; fills the micro-op's address fields.</summary>
    private static bool LowerMemory(in Instruction ins, int n, int size, ref MicroOp op)
    {
        if (ins.GetOpKind(n) != OpKind.Memory || ins.MemorySize.GetSize() != size || !AddressIs32(in ins))
        {
            return false;
        }

        Register b = ins.MemoryBase;
        Register x = ins.MemoryIndex;
        if ((b != Register.None && !b.IsGPR32()) || (x != Register.None && !x.IsGPR32()))
        {
            return false;
        }

        op.Base = b == Register.None ? NoRegister : (byte)RegIndex(b);
        op.Index = x == Register.None ? NoRegister : (byte)RegIndex(x);
        op.Scale = (byte)(ins.MemoryIndexScale switch { 1 => 0, 2 => 1, 4 => 2, _ => 3 });
        op.Disp = ins.MemoryDisplacement32;
        op.Seg = (byte)SegIndex(ins.MemorySegment);
        return true;
    }

    private static void LowerFast(in Instruction ins, ref MicroOp op)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Add:
            case Mnemonic.Or:
            case Mnemonic.And:
            case Mnemonic.Sub:
            case Mnemonic.Xor:
            case Mnemonic.Cmp:
            case Mnemonic.Test:
                LowerAlu(in ins, ref op);
                return;
            case Mnemonic.Mov:
                LowerMov(in ins, ref op);
                return;
            case Mnemonic.Movzx when IsReg32(in ins, 0) && LowerMemory(in ins, 1, 1, ref op):
                op.Kind = MicroOpKind.MovzxRegMem8;
                op.A = (byte)RegIndex(ins.Op0Register);
                return;
            case Mnemonic.Inc when IsReg32(in ins, 0):
                op.Kind = MicroOpKind.IncReg;
                op.A = (byte)RegIndex(ins.Op0Register);
                return;
            case Mnemonic.Dec when IsReg32(in ins, 0):
                op.Kind = MicroOpKind.DecReg;
                op.A = (byte)RegIndex(ins.Op0Register);
                return;
            case Mnemonic.Lea when IsReg32(in ins, 0) && LowerMemory(in ins, 1, ins.MemorySize.GetSize(), ref op):
                op.Kind = MicroOpKind.Lea;
                op.A = (byte)RegIndex(ins.Op0Register);
                return;
            case Mnemonic.Jmp when ins.Op0Kind == OpKind.NearBranch32:
                op.Kind = MicroOpKind.Jmp;
                op.Disp = ins.NearBranch32 - ins.NextIP32;
                return;
            case Mnemonic.Call when ins.Op0Kind == OpKind.NearBranch32:
                op.Kind = MicroOpKind.CallRel;
                op.Disp = ins.NearBranch32 - ins.NextIP32;
                return;
            case Mnemonic.Ret when ins.OpCount == 0 && CodeOperandSize(ins.Code) != 16:
                op.Kind = MicroOpKind.Ret;
                return;
            case Mnemonic.Push when IsReg32(in ins, 0):
                op.Kind = MicroOpKind.PushReg;
                op.A = (byte)RegIndex(ins.Op0Register);
                return;
            case Mnemonic.Pop when IsReg32(in ins, 0) && ins.Op0Register != Register.ESP:
                op.Kind = MicroOpKind.PopReg;
                op.A = (byte)RegIndex(ins.Op0Register);
                return;
            case Mnemonic.Nop:
                op.Kind = MicroOpKind.Nop;
                return;
            case Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar
                when IsReg32(in ins, 0) && ins.Op1Kind == OpKind.Immediate8 && (ins.Immediate8 & 0x1F) != 0:
                op.Kind = MicroOpKind.ShiftRegImm;
                op.A = (byte)RegIndex(ins.Op0Register);
                op.B = (byte)(ins.Mnemonic switch
                {
                    Mnemonic.Rol => ShiftKind.Rol,
                    Mnemonic.Ror => ShiftKind.Ror,
                    Mnemonic.Shr => ShiftKind.Shr,
                    Mnemonic.Sar => ShiftKind.Sar,
                    _ => ShiftKind.Shl,
                });
                op.Imm = ins.Immediate8 & 0x1Fu;
                return;
        }

        if (ins.FlowControl == FlowControl.ConditionalBranch && ins.Op0Kind == OpKind.NearBranch32
            && ins.ConditionCode != ConditionCode.None && !ins.IsLoop && !ins.IsLoopcc && !ins.IsJcxShort)
        {
            op.Kind = MicroOpKind.Jcc;
            op.A = (byte)ins.ConditionCode;
            op.Disp = ins.NearBranch32 - ins.NextIP32;
        }
    }

    private static void LowerAlu(in Instruction ins, ref MicroOp op)
    {
        AluKind kind = ins.Mnemonic switch
        {
            Mnemonic.Add => AluKind.Add,
            Mnemonic.Or => AluKind.Or,
            Mnemonic.And => AluKind.And,
            Mnemonic.Sub => AluKind.Sub,
            Mnemonic.Xor => AluKind.Xor,
            Mnemonic.Cmp => AluKind.Cmp,
            _ => AluKind.Test,
        };
        if (IsReg32(in ins, 0))
        {
            op.A = (byte)RegIndex(ins.Op0Register);
            if (IsReg32(in ins, 1))
            {
                op.Kind = RegRegKind(kind);
                op.B = (byte)RegIndex(ins.Op1Register);
            }
            else if (IsImm32(in ins, 1))
            {
                op.Kind = RegRegKind(kind) + 1;
                op.Imm = (uint)ins.GetImmediate(1);
            }
            else if (LowerMemory(in ins, 1, 4, ref op))
            {
                op.Kind = MicroOpKind.AluRegMem;
                op.Imm = (uint)kind;
            }
        }
        else if (IsReg32(in ins, 1) && LowerMemory(in ins, 0, 4, ref op))
        {
            op.Kind = MicroOpKind.AluMemReg;
            op.B = (byte)RegIndex(ins.Op1Register);
            op.Imm = (uint)kind;
        }
    }

    /// <summary>The reg-reg micro-op of an ALU kind; its reg-imm form follows it in <see cref="MicroOpKind"/>.</summary>
    private static MicroOpKind RegRegKind(AluKind kind) => kind switch
    {
        AluKind.Add => MicroOpKind.AddRegReg,
        AluKind.Sub => MicroOpKind.SubRegReg,
        AluKind.Xor => MicroOpKind.XorRegReg,
        AluKind.And => MicroOpKind.AndRegReg,
        AluKind.Or => MicroOpKind.OrRegReg,
        AluKind.Cmp => MicroOpKind.CmpRegReg,
        _ => MicroOpKind.TestRegReg,
    };

    private static void LowerMov(in Instruction ins, ref MicroOp op)
    {
        if (IsReg32(in ins, 0))
        {
            op.A = (byte)RegIndex(ins.Op0Register);
            if (IsReg32(in ins, 1))
            {
                op.Kind = MicroOpKind.MovRegReg;
                op.B = (byte)RegIndex(ins.Op1Register);
            }
            else if (ins.Op1Kind == OpKind.Immediate32)
            {
                op.Kind = MicroOpKind.MovRegImm;
                op.Imm = ins.Immediate32;
            }
            else if (LowerMemory(in ins, 1, 4, ref op))
            {
                op.Kind = MicroOpKind.MovRegMem;
            }
        }
        else if (IsReg32(in ins, 1) && LowerMemory(in ins, 0, 4, ref op))
        {
            op.Kind = MicroOpKind.MovMemReg;
            op.B = (byte)RegIndex(ins.Op1Register);
        }
        else if (ins.Op1Kind == OpKind.Immediate32 && LowerMemory(in ins, 0, 4, ref op))
        {
            op.Kind = MicroOpKind.MovMemImm;
            op.Imm = ins.Immediate32;
        }
        else if (ins.Op1Kind == OpKind.Register && ins.Op1Register.IsGPR8() && RegSize(ins.Op1Register) == 1
            && (ins.Op1Register - Register.AL) < 4 && LowerMemory(in ins, 0, 1, ref op))
        {
            op.Kind = MicroOpKind.MovMemReg8;
            op.B = (byte)RegIndex(ins.Op1Register);
        }
    }
}
