using System.Reflection;
using System.Reflection.Emit;
using Emu.Machine.Cpu.Cache;
using ConditionCode = Iced.Intel.ConditionCode;
using CcOp = Emu.Machine.Cpu.X86Cpu.CcOp;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// Register arithmetic and conditions: tier 1's 32-bit ALU, INC/DEC and shift micro-ops with their lazy flags kept
/// in locals (QEMU's cc_op tracking at translation time), and Jcc conditions read straight from those locals.
/// </summary>
internal sealed partial class BlockCompiler
{
    private static readonly MethodInfo PreserveCarry = CpuMethod(nameof(X86Cpu.PreserveCarry));
    private static readonly MethodInfo Condition = CpuMethod(nameof(X86Cpu.Condition));
    private static readonly MethodInfo ShiftWithFlags = CpuMethod(nameof(X86Cpu.CompiledShift));
    private static readonly MethodInfo Shifted = CpuMethod(nameof(X86Cpu.Shifted));

    /// <summary>The register-only micro-ops (ALU, INC/DEC, shifts) with and without flags.</summary>
    private void EmitArithmetic(in MicroOp op)
    {
        switch (op.Kind)
        {
            case MicroOpKind.AddRegReg: EmitAlu(X86Cpu.AluKind.Add, op.A, _reg[op.B], 0); break;
            case MicroOpKind.AddRegImm: EmitAlu(X86Cpu.AluKind.Add, op.A, null, op.Imm); break;
            case MicroOpKind.SubRegReg: EmitAlu(X86Cpu.AluKind.Sub, op.A, _reg[op.B], 0); break;
            case MicroOpKind.SubRegImm: EmitAlu(X86Cpu.AluKind.Sub, op.A, null, op.Imm); break;
            case MicroOpKind.XorRegReg: EmitAlu(X86Cpu.AluKind.Xor, op.A, _reg[op.B], 0); break;
            case MicroOpKind.XorRegImm: EmitAlu(X86Cpu.AluKind.Xor, op.A, null, op.Imm); break;
            case MicroOpKind.AndRegReg: EmitAlu(X86Cpu.AluKind.And, op.A, _reg[op.B], 0); break;
            case MicroOpKind.AndRegImm: EmitAlu(X86Cpu.AluKind.And, op.A, null, op.Imm); break;
            case MicroOpKind.OrRegReg: EmitAlu(X86Cpu.AluKind.Or, op.A, _reg[op.B], 0); break;
            case MicroOpKind.OrRegImm: EmitAlu(X86Cpu.AluKind.Or, op.A, null, op.Imm); break;
            case MicroOpKind.CmpRegReg: EmitAlu(X86Cpu.AluKind.Cmp, op.A, _reg[op.B], 0); break;
            case MicroOpKind.CmpRegImm: EmitAlu(X86Cpu.AluKind.Cmp, op.A, null, op.Imm); break;
            case MicroOpKind.TestRegReg: EmitAlu(X86Cpu.AluKind.Test, op.A, _reg[op.B], 0); break;
            case MicroOpKind.TestRegImm: EmitAlu(X86Cpu.AluKind.Test, op.A, null, op.Imm); break;
            case MicroOpKind.AddRegRegNoFlags: EmitAluNoFlags(OpCodes.Add, op.A, _reg[op.B], 0); break;
            case MicroOpKind.AddRegImmNoFlags: EmitAluNoFlags(OpCodes.Add, op.A, null, op.Imm); break;
            case MicroOpKind.SubRegRegNoFlags: EmitAluNoFlags(OpCodes.Sub, op.A, _reg[op.B], 0); break;
            case MicroOpKind.SubRegImmNoFlags: EmitAluNoFlags(OpCodes.Sub, op.A, null, op.Imm); break;
            case MicroOpKind.XorRegRegNoFlags: EmitAluNoFlags(OpCodes.Xor, op.A, _reg[op.B], 0); break;
            case MicroOpKind.XorRegImmNoFlags: EmitAluNoFlags(OpCodes.Xor, op.A, null, op.Imm); break;
            case MicroOpKind.AndRegRegNoFlags: EmitAluNoFlags(OpCodes.And, op.A, _reg[op.B], 0); break;
            case MicroOpKind.AndRegImmNoFlags: EmitAluNoFlags(OpCodes.And, op.A, null, op.Imm); break;
            case MicroOpKind.OrRegRegNoFlags: EmitAluNoFlags(OpCodes.Or, op.A, _reg[op.B], 0); break;
            case MicroOpKind.OrRegImmNoFlags: EmitAluNoFlags(OpCodes.Or, op.A, null, op.Imm); break;
            case MicroOpKind.IncRegNoFlags: EmitAluNoFlags(OpCodes.Add, op.A, null, 1); break;
            case MicroOpKind.DecRegNoFlags: EmitAluNoFlags(OpCodes.Sub, op.A, null, 1); break;
            case MicroOpKind.IncReg: EmitIncDec(op.A, inc: true); break;
            case MicroOpKind.DecReg: EmitIncDec(op.A, inc: false); break;
            case MicroOpKind.ShiftRegImmNoFlags:
                EmitConst(op.B);
                _il.Emit(OpCodes.Ldloc, _reg[op.A]);
                EmitConst(op.Imm);
                _il.Emit(OpCodes.Call, Shifted);
                _il.Emit(OpCodes.Stloc, _reg[op.A]);
                break;
            case MicroOpKind.ShiftRegImm:
                // Rare with live flags, and rotates merge into materialised EFLAGS: tier 1's code over the fields.
                FlushFlags();
                _il.Emit(OpCodes.Ldarg_0);
                EmitConst(op.B);
                _il.Emit(OpCodes.Ldloc, _reg[op.A]);
                EmitConst(op.Imm);
                _il.Emit(OpCodes.Call, ShiftWithFlags);
                _il.Emit(OpCodes.Stloc, _reg[op.A]);
                _knownCc = null;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op.Kind, "no IL form for this micro-op");
        }
    }

    /// <summary>A 32-bit ALU op on register <paramref name="dst"/> and a local or an immediate, flags lazy (tier 1's SetAluResult).</summary>
    private void EmitAlu(X86Cpu.AluKind kind, int dst, LocalBuilder? source, uint imm) =>
        EmitAluOn(kind, _reg[dst], source, imm);

    private void EmitAluOn(X86Cpu.AluKind kind, LocalBuilder dst, LocalBuilder? source, uint imm)
    {
        _il.Emit(OpCodes.Ldloc, dst);
        _il.Emit(OpCodes.Stloc, _ccSrc1);
        if (source != null)
        {
            _il.Emit(OpCodes.Ldloc, source);
        }
        else
        {
            EmitConst(imm);
        }

        _il.Emit(OpCodes.Stloc, _ccSrc2);
        _il.Emit(OpCodes.Ldloc, _ccSrc1);
        _il.Emit(OpCodes.Ldloc, _ccSrc2);
        (OpCode code, CcOp cc, bool write) = kind switch
        {
            X86Cpu.AluKind.Add => (OpCodes.Add, CcOp.Add, true),
            X86Cpu.AluKind.Sub => (OpCodes.Sub, CcOp.Sub, true),
            X86Cpu.AluKind.Cmp => (OpCodes.Sub, CcOp.Sub, false),
            X86Cpu.AluKind.Xor => (OpCodes.Xor, CcOp.Logic, true),
            X86Cpu.AluKind.And => (OpCodes.And, CcOp.Logic, true),
            X86Cpu.AluKind.Or => (OpCodes.Or, CcOp.Logic, true),
            _ => (OpCodes.And, CcOp.Logic, false),
        };
        _il.Emit(code);
        _il.Emit(OpCodes.Stloc, _ccRes);
        if (write)
        {
            _il.Emit(OpCodes.Ldloc, _ccRes);
            _il.Emit(OpCodes.Stloc, dst);
        }

        _knownCc = cc;
        _ccDirty = true;
    }

    private void EmitAluNoFlags(OpCode code, int dst, LocalBuilder? source, uint imm)
    {
        _il.Emit(OpCodes.Ldloc, _reg[dst]);
        if (source != null)
        {
            _il.Emit(OpCodes.Ldloc, source);
        }
        else
        {
            EmitConst(imm);
        }

        _il.Emit(code);
        _il.Emit(OpCodes.Stloc, _reg[dst]);
    }

    /// <summary>INC/DEC: CF carried into EFLAGS from whatever set the flags (tier 1's PreserveCarry), the rest lazy.</summary>
    private void EmitIncDec(int dst, bool inc)
    {
        switch (_knownCc)
        {
            case null:
                _il.Emit(OpCodes.Ldarg_0);
                _il.Emit(OpCodes.Call, PreserveCarry);
                break;
            case CcOp.Add:
                EmitSetCarry(_ccRes, _ccSrc1);
                break;
            case CcOp.Sub:
                EmitSetCarry(_ccSrc1, _ccSrc2);
                break;
            case CcOp.Logic:
                EmitSetCarry(null, null);
                break;
            default:
                // INC/DEC (or materialised flags): CF is already in EFLAGS.
                break;
        }

        _il.Emit(OpCodes.Ldloc, _reg[dst]);
        _il.Emit(OpCodes.Stloc, _ccSrc1);
        EmitConst(1);
        _il.Emit(OpCodes.Stloc, _ccSrc2);
        _il.Emit(OpCodes.Ldloc, _ccSrc1);
        EmitConst(1);
        _il.Emit(inc ? OpCodes.Add : OpCodes.Sub);
        _il.Emit(OpCodes.Stloc, _ccRes);
        _il.Emit(OpCodes.Ldloc, _ccRes);
        _il.Emit(OpCodes.Stloc, _reg[dst]);
        _knownCc = inc ? CcOp.Inc : CcOp.Dec;
        _ccDirty = true;
    }

    /// <summary>EFLAGS.CF = (<paramref name="less"/> &lt; <paramref name="than"/>) unsigned, or 0 when both are null.</summary>
    private void EmitSetCarry(LocalBuilder? less, LocalBuilder? than)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, Eflags);
        EmitConst(~X86Cpu.FlagCf);
        _il.Emit(OpCodes.And);
        if (less != null && than != null)
        {
            _il.Emit(OpCodes.Ldloc, less);
            _il.Emit(OpCodes.Ldloc, than);
            _il.Emit(OpCodes.Clt_Un);
            _il.Emit(OpCodes.Or);
        }

        _il.Emit(OpCodes.Stfld, Eflags);
    }

    /// <summary>Branches to <paramref name="notTaken"/> when condition <paramref name="cc"/> is false.</summary>
    private void EmitBranchUnlessCondition(ConditionCode cc, Label notTaken)
    {
        if (_knownCc == CcOp.Sub && EmitCompareBranch(cc, notTaken))
        {
            return;
        }

        if (_knownCc != null && cc is ConditionCode.e or ConditionCode.ne or ConditionCode.s or ConditionCode.ns)
        {
            // ZF and SF of a lazy result (every kind tier 2 tracks is 32-bit).
            _il.Emit(OpCodes.Ldloc, _ccRes);
            switch (cc)
            {
                case ConditionCode.e:
                    _il.Emit(OpCodes.Brtrue, notTaken);
                    break;
                case ConditionCode.ne:
                    _il.Emit(OpCodes.Brfalse, notTaken);
                    break;
                case ConditionCode.s:
                    EmitConst(0);
                    _il.Emit(OpCodes.Bge, notTaken);
                    break;
                default:
                    EmitConst(0);
                    _il.Emit(OpCodes.Blt, notTaken);
                    break;
            }

            return;
        }

        FlushFlags();
        _il.Emit(OpCodes.Ldarg_0);
        EmitConst((int)cc);
        _il.Emit(OpCodes.Call, Condition);
        _il.Emit(OpCodes.Brfalse, notTaken);
    }

    /// <summary>After CMP/SUB: the condition as one compare of the two operands; false when it is not such a condition.</summary>
    private bool EmitCompareBranch(ConditionCode cc, Label notTaken)
    {
        OpCode unless;
        switch (cc)
        {
            case ConditionCode.e: unless = OpCodes.Bne_Un; break;
            case ConditionCode.ne: unless = OpCodes.Beq; break;
            case ConditionCode.b: unless = OpCodes.Bge_Un; break;
            case ConditionCode.ae: unless = OpCodes.Blt_Un; break;
            case ConditionCode.be: unless = OpCodes.Bgt_Un; break;
            case ConditionCode.a: unless = OpCodes.Ble_Un; break;
            case ConditionCode.l: unless = OpCodes.Bge; break;
            case ConditionCode.ge: unless = OpCodes.Blt; break;
            case ConditionCode.le: unless = OpCodes.Bgt; break;
            case ConditionCode.g: unless = OpCodes.Ble; break;
            default: return false;
        }

        _il.Emit(OpCodes.Ldloc, _ccSrc1);
        _il.Emit(OpCodes.Ldloc, _ccSrc2);
        _il.Emit(unless, notTaken);
        return true;
    }
}
