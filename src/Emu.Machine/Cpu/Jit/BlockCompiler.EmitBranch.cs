using System.Reflection;
using System.Reflection.Emit;
using Emu.Machine.Cpu.Cache;
using ConditionCode = Iced.Intel.ConditionCode;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// Near control flow: Jcc, JMP, CALL and RET leave the block with EIP at the target, except a branch back to the
/// block's own start, which loops inside the compiled method while tier 1's dispatcher would have run it again.
/// </summary>
internal sealed partial class BlockCompiler
{
    private static readonly MethodInfo BranchInLimit = CpuMethod(nameof(X86Cpu.CompiledBranchInLimit));

    private void EmitJcc(int i)
    {
        ref MicroOp op = ref _ops[i];
        Label notTaken = _il.DefineLabel();
        EmitBranchUnlessCondition((ConditionCode)op.A, notTaken);
        EmitTakenBranch(i, BranchTarget(in op));
        _il.MarkLabel(notTaken);
    }

    private void EmitJmp(int i) => EmitTakenBranch(i, BranchTarget(in _ops[i]));

    private void EmitCall(int i)
    {
        ref MicroOp op = ref _ops[i];
        uint target = BranchTarget(in op);
        EmitLeaveBeforeUnlessInLimit(i, target);
        EmitNewStackTop();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _address);
        EmitStartPlus((uint)(op.Offset + op.Length));
        _il.Emit(OpCodes.Ldloc, _mmu);
        EmitStartPlus(op.Offset);
        _il.Emit(OpCodes.Call, StackStore);

        // Done or EndsBlock: either way CALL leaves the block at its target.
        Label stored = _il.DefineLabel();
        _il.Emit(OpCodes.Stloc, _outcome);
        _il.Emit(OpCodes.Ldloc, _outcome);
        _il.Emit(OpCodes.Brfalse, stored);
        _il.Emit(OpCodes.Ldloc, _outcome);
        EmitConst((int)AccessOutcome.EndsBlock);
        _il.Emit(OpCodes.Beq, stored);
        EmitExitBefore(i);
        _il.MarkLabel(stored);
        EmitCommitStackTop(_address);
        EmitExitAfter(i, target);
    }

    private void EmitRet(int i)
    {
        EmitStackLoad(i);
        Label inLimit = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _value);
        _il.Emit(OpCodes.Call, BranchInLimit);
        _il.Emit(OpCodes.Brtrue, inLimit);
        EmitExitBefore(i);
        _il.MarkLabel(inLimit);
        EmitPopStackTop();
        _il.Emit(OpCodes.Ldloc, _value);
        EmitExitAfterToStackTarget(i);
    }

    /// <summary>A taken near branch to start + <paramref name="target"/>.</summary>
    private void EmitTakenBranch(int i, uint target)
    {
        EmitLeaveBeforeUnlessInLimit(i, target);
        if (target == 0)
        {
            EmitLoopBack(i);
        }
        else
        {
            EmitExitAfter(i, target);
        }
    }

    /// <summary>Tier 1 leaves a target past the CS limit to the generic path (which raises #GP): so does tier 2.</summary>
    private void EmitLeaveBeforeUnlessInLimit(int i, uint target)
    {
        Label inLimit = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_0);
        EmitStartPlus(target);
        _il.Emit(OpCodes.Call, BranchInLimit);
        _il.Emit(OpCodes.Brtrue, inLimit);
        EmitExitBefore(i);
        _il.MarkLabel(inLimit);
    }

    /// <summary>The branch target as an offset from the block's start (mod 2^32).</summary>
    private static uint BranchTarget(in MicroOp op) => (uint)(op.Offset + op.Length) + op.Disp;
}
