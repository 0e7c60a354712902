using System.Reflection;
using System.Reflection.Emit;
using Emu.Machine.Cpu.Cache;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// Loads, stores and the stack: each access calls the CPU's compiled-code entry (inlined by the .NET JIT: segment
/// limit, TLB tag compare, host access, write barrier) and leaves the block unless it was <see cref="AccessOutcome.Done"/>.
/// Nothing of the instruction is committed before its access succeeded, so leaving before it is exact.
/// </summary>
internal sealed partial class BlockCompiler
{
    private static readonly MethodInfo Load = CpuMethod(nameof(X86Cpu.CompiledLoad));
    private static readonly MethodInfo Store = CpuMethod(nameof(X86Cpu.CompiledStore));
    private static readonly MethodInfo StackLoad = CpuMethod(nameof(X86Cpu.CompiledStackLoad));
    private static readonly MethodInfo StackStore = CpuMethod(nameof(X86Cpu.CompiledStackStore));

    /// <summary>MOV reg, [mem]; MOVZX reg, byte [mem]; ALU reg, [mem].</summary>
    private void EmitLoadOp(int i)
    {
        ref MicroOp op = ref _ops[i];
        _il.Emit(OpCodes.Ldarg_0);
        EmitConst(op.Seg);
        EmitEffectiveAddress(in op);
        EmitConst(op.Kind == MicroOpKind.MovzxRegMem8 ? 1 : 4);
        _il.Emit(OpCodes.Ldloc, _mmu);
        EmitStartPlus(op.Offset);
        _il.Emit(OpCodes.Ldloca, _value);
        _il.Emit(OpCodes.Call, Load);
        EmitLeaveBeforeUnlessDone(i);
        if (op.Kind == MicroOpKind.AluRegMem)
        {
            EmitAluOn((X86Cpu.AluKind)op.Imm, _reg[op.A], _value, 0);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, _value);
            _il.Emit(OpCodes.Stloc, _reg[op.A]);
        }
    }

    /// <summary>MOV [mem], reg; MOV [mem], imm; MOV byte [mem], reg8.</summary>
    private void EmitStoreOp(int i)
    {
        ref MicroOp op = ref _ops[i];
        _il.Emit(OpCodes.Ldarg_0);
        EmitConst(op.Seg);
        EmitEffectiveAddress(in op);
        EmitConst(op.Kind == MicroOpKind.MovMemReg8 ? 1 : 4);
        if (op.Kind == MicroOpKind.MovMemImm)
        {
            EmitConst(op.Imm);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, _reg[op.B]);
        }

        _il.Emit(OpCodes.Ldloc, _mmu);
        EmitStartPlus(op.Offset);
        _il.Emit(OpCodes.Call, Store);
        EmitAfterStore(i, commit: null);
    }

    private void EmitPush(int i)
    {
        ref MicroOp op = ref _ops[i];
        EmitNewStackTop();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldloc, _reg[op.A]);
        _il.Emit(OpCodes.Ldloc, _mmu);
        EmitStartPlus(op.Offset);
        _il.Emit(OpCodes.Call, StackStore);
        EmitAfterStore(i, commit: _address);
    }

    private void EmitPop(int i)
    {
        ref MicroOp op = ref _ops[i];
        EmitStackLoad(i);
        EmitPopStackTop();
        _il.Emit(OpCodes.Ldloc, _value);
        _il.Emit(OpCodes.Stloc, _reg[op.A]);
    }

    /// <summary>Loads the dword at SS:ESP into <see cref="_value"/>, leaving before instruction <paramref name="i"/> unless done.</summary>
    private void EmitStackLoad(int i)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _reg[X86Cpu.RegEsp]);
        _il.Emit(OpCodes.Ldloc, _mmu);
        EmitStartPlus(_ops[i].Offset);
        _il.Emit(OpCodes.Ldloca, _value);
        _il.Emit(OpCodes.Call, StackLoad);
        EmitLeaveBeforeUnlessDone(i);
    }

    /// <summary>ESP − 4 into <see cref="_address"/> (committed to ESP only once the store is done).</summary>
    private void EmitNewStackTop()
    {
        _il.Emit(OpCodes.Ldloc, _reg[X86Cpu.RegEsp]);
        EmitConst(4);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Stloc, _address);
    }

    private void EmitPopStackTop()
    {
        _il.Emit(OpCodes.Ldloc, _reg[X86Cpu.RegEsp]);
        EmitConst(4);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _reg[X86Cpu.RegEsp]);
    }

    /// <summary>With an <see cref="AccessOutcome"/> on the IL stack: leaves before instruction <paramref name="i"/> unless Done.</summary>
    private void EmitLeaveBeforeUnlessDone(int i)
    {
        Label done = _il.DefineLabel();
        _il.Emit(OpCodes.Brfalse, done);
        EmitExitBefore(i);
        _il.MarkLabel(done);
    }

    /// <summary>
    /// With a store's <see cref="AccessOutcome"/> on the IL stack: Done goes on; EndsBlock (the store hit this block's
    /// code) leaves after instruction <paramref name="i"/>; otherwise leaves before it. <paramref name="commit"/>, when
    /// given, becomes ESP once the store happened.
    /// </summary>
    private void EmitAfterStore(int i, LocalBuilder? commit)
    {
        Label done = _il.DefineLabel();
        Label before = _il.DefineLabel();
        _il.Emit(OpCodes.Stloc, _outcome);
        _il.Emit(OpCodes.Ldloc, _outcome);
        _il.Emit(OpCodes.Brfalse, done);
        _il.Emit(OpCodes.Ldloc, _outcome);
        EmitConst((int)AccessOutcome.EndsBlock);
        _il.Emit(OpCodes.Bne_Un, before);
        EmitCommitStackTop(commit);
        EmitExitAfter(i, (uint)(_ops[i].Offset + _ops[i].Length));
        _il.MarkLabel(before);
        EmitExitBefore(i);
        _il.MarkLabel(done);
        EmitCommitStackTop(commit);
    }

    private void EmitCommitStackTop(LocalBuilder? commit)
    {
        if (commit != null)
        {
            _il.Emit(OpCodes.Ldloc, commit);
            _il.Emit(OpCodes.Stloc, _reg[X86Cpu.RegEsp]);
        }
    }
}
