using System.Reflection;
using System.Reflection.Emit;
using Emu.Machine.Cpu.Cache;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// Tier 2's compiler (QEMU tcg_gen_code; ARMeilleure's Translator.Compile): one block's whole-run micro-ops — the
/// same IR tier 1 interprets — to a <see cref="DynamicMethod"/> the .NET JIT turns into native code. The guest
/// registers live in IL locals and are written back at every exit; the lazy flags live in locals while the compiler
/// knows which operation set them (so CMP + Jcc becomes one compare and branch) and are stored before anything
/// else can read them. A micro-op with no IL form here runs through tier 1 in place
/// (<see cref="X86Cpu.CompiledInterpretRun"/>); a fast form that meets a case it does not handle (a segment limit,
/// a 16-bit stack) leaves the block before that instruction with the state exact, and tier 1 runs it from there.
/// </summary>
internal sealed partial class BlockCompiler
{
    private const BindingFlags Members = BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;

    /// <summary>The value <see cref="X86Cpu.CompiledInterpretRun"/> returns when the block goes on.</summary>
    private const int Continue = -1;

    private static readonly Type[] Parameters = [typeof(X86Cpu), typeof(DecodedBlock), typeof(uint), typeof(long)];
    private static readonly FieldInfo Gpr = CpuField(nameof(X86Cpu._gpr));
    private static readonly FieldInfo Mmu = CpuField(nameof(X86Cpu._mmu));
    private static readonly FieldInfo LinkEpoch = CpuField(nameof(X86Cpu._linkEpoch));
    private static readonly FieldInfo Eip = CpuField(nameof(X86Cpu._eip));
    private static readonly FieldInfo Eflags = CpuField(nameof(X86Cpu._eflags));
    private static readonly FieldInfo CcOpField = CpuField(nameof(X86Cpu._ccOp));
    private static readonly FieldInfo CcRes = CpuField(nameof(X86Cpu._ccRes));
    private static readonly FieldInfo CcSrc1 = CpuField(nameof(X86Cpu._ccSrc1));
    private static readonly FieldInfo CcSrc2 = CpuField(nameof(X86Cpu._ccSrc2));
    private static readonly FieldInfo CcSign = CpuField(nameof(X86Cpu._ccSign));
    private static readonly MethodInfo InterpretRun = CpuMethod(nameof(X86Cpu.CompiledInterpretRun));
    private static readonly MethodInfo ContinueLoop = CpuMethod(nameof(X86Cpu.CompiledContinueLoop));
    private static readonly MethodInfo ChainNext = CpuMethod(nameof(X86Cpu.CompiledChainNext));
    private static readonly FieldInfo CompiledCode = typeof(DecodedBlock).GetField(nameof(DecodedBlock.Compiled))
        ?? throw new MissingFieldException(nameof(DecodedBlock), nameof(DecodedBlock.Compiled));
    private static readonly MethodInfo InvokeCompiled = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.Invoke))
        ?? throw new MissingMethodException(nameof(CompiledBlock), nameof(CompiledBlock.Invoke));

    private readonly DecodedBlock _block;
    private readonly MicroOp[] _ops;
    private readonly ILGenerator _il;
    private readonly DynamicMethod _method;
    private readonly LocalBuilder[] _reg = new LocalBuilder[8];

    /// <summary>
    /// The guest registers the IL forms touch: only these live in locals (loaded at entry, stored at exits and around
    /// tier 1 calls); the others stay in the CPU's fields, so the .NET JIT keeps fewer values alive across the block.
    /// </summary>
    private readonly bool[] _inLocal = new bool[8];
    private readonly LocalBuilder _gprArray;
    private readonly LocalBuilder _mmu;
    private readonly LocalBuilder _epoch;
    private readonly LocalBuilder _result;
    private readonly LocalBuilder _ccRes;
    private readonly LocalBuilder _ccSrc1;
    private readonly LocalBuilder _ccSrc2;
    private readonly LocalBuilder _value;
    private readonly LocalBuilder _address;
    private readonly LocalBuilder _outcome;
    private readonly LocalBuilder _next;
    private readonly Label _top;
    private readonly Label _exit;

    /// <summary>The operation whose operands and result are in the flag locals; null when the CPU's fields hold the flags.</summary>
    private X86Cpu.CcOp? _knownCc;

    /// <summary>The flag locals differ from the CPU's fields (they must be stored before an exit or a call that reads flags).</summary>
    private bool _ccDirty;

    private BlockCompiler(DecodedBlock block)
    {
        _block = block;
        _ops = block.WholeRunOps;
        _method = new DynamicMethod("tb_" + (block.Key >> 1).ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
            typeof(int), Parameters, typeof(X86Cpu), skipVisibility: true);
        _il = _method.GetILGenerator(256 + 64 * block.Count);
        for (int r = 0; r < _reg.Length; r++)
        {
            _reg[r] = _il.DeclareLocal(typeof(uint));
        }

        _gprArray = _il.DeclareLocal(typeof(uint[]));
        _mmu = _il.DeclareLocal(typeof(int));
        _epoch = _il.DeclareLocal(typeof(int));
        _result = _il.DeclareLocal(typeof(int));
        _ccRes = _il.DeclareLocal(typeof(uint));
        _ccSrc1 = _il.DeclareLocal(typeof(uint));
        _ccSrc2 = _il.DeclareLocal(typeof(uint));
        _value = _il.DeclareLocal(typeof(uint));
        _address = _il.DeclareLocal(typeof(uint));
        _outcome = _il.DeclareLocal(typeof(int));
        _next = _il.DeclareLocal(typeof(DecodedBlock));
        _top = _il.DefineLabel();
        _exit = _il.DefineLabel();
        foreach (MicroOp op in _ops)
        {
            MarkRegistersUsed(in op);
        }
    }

    private void MarkRegistersUsed(in MicroOp op)
    {
        if (!HasIlForm(op.Kind))
        {
            return;
        }

        switch (op.Kind)
        {
            case MicroOpKind.Jcc or MicroOpKind.Jmp or MicroOpKind.Nop:
                return;
            case MicroOpKind.PushReg or MicroOpKind.PopReg or MicroOpKind.CallRel or MicroOpKind.Ret:
                _inLocal[X86Cpu.RegEsp] = true;
                break;
        }

        bool readsB = op.Kind is MicroOpKind.MovRegReg or MicroOpKind.MovMemReg or MicroOpKind.MovMemReg8
            or MicroOpKind.AddRegReg or MicroOpKind.SubRegReg or MicroOpKind.XorRegReg or MicroOpKind.AndRegReg or MicroOpKind.OrRegReg
            or MicroOpKind.CmpRegReg or MicroOpKind.TestRegReg or MicroOpKind.AddRegRegNoFlags or MicroOpKind.SubRegRegNoFlags
            or MicroOpKind.XorRegRegNoFlags or MicroOpKind.AndRegRegNoFlags or MicroOpKind.OrRegRegNoFlags;
        bool usesA = op.Kind is not (MicroOpKind.MovMemReg or MicroOpKind.MovMemImm or MicroOpKind.MovMemReg8 or MicroOpKind.CallRel or MicroOpKind.Ret);
        bool usesMemory = op.Kind is MicroOpKind.Lea or MicroOpKind.MovRegMem or MicroOpKind.MovzxRegMem8 or MicroOpKind.AluRegMem
            or MicroOpKind.MovMemReg or MicroOpKind.MovMemImm or MicroOpKind.MovMemReg8;
        Mark(usesA, op.A);
        Mark(readsB, op.B);
        Mark(usesMemory, op.Base);
        Mark(usesMemory, op.Index);
    }

    private void Mark(bool used, byte register)
    {
        if (used && register < _inLocal.Length)
        {
            _inLocal[register] = true;
        }
    }

    /// <summary>True when tier 2 has an IL form for at least one of the block's micro-ops (else compiling gains nothing).</summary>
    public static bool IsWorthCompiling(DecodedBlock block)
    {
        foreach (MicroOp op in block.WholeRunOps)
        {
            if (HasIlForm(op.Kind))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Compiles a 32-bit code block (tier 1 only lowers 32-bit code to fast micro-ops).</summary>
    public static CompiledBlock Compile(DecodedBlock block)
    {
        var compiler = new BlockCompiler(block);
        compiler.EmitBody();
        return (CompiledBlock)compiler._method.CreateDelegate(typeof(CompiledBlock));
    }

    private static bool HasIlForm(MicroOpKind kind) => kind is not (MicroOpKind.Generic or MicroOpKind.AluMemReg);

    private void EmitBody()
    {
        // A call with no CPU only makes the .NET JIT compile the method (CompilerThread.CompileNow) and returns 0.
        Label body = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Brtrue, body);
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Ret);
        _il.MarkLabel(body);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, Gpr);
        _il.Emit(OpCodes.Stloc, _gprArray);
        LoadRegisters();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, Mmu);
        _il.Emit(OpCodes.Stloc, _mmu);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, LinkEpoch);
        _il.Emit(OpCodes.Stloc, _epoch);
        _il.MarkLabel(_top);
        _knownCc = null;
        _ccDirty = false;

        bool endsInBranch = false;
        for (int i = 0; i < _ops.Length;)
        {
            if (HasIlForm(_ops[i].Kind))
            {
                endsInBranch = EmitInstruction(i);
                i++;
                continue;
            }

            // A run of micro-ops with no IL form goes to tier 1 in one call: the registers are stored and reloaded
            // once per run, not once per instruction (blocks of mostly generic code were slower compiled than not).
            int end = i + 1;
            while (end < _ops.Length && !HasIlForm(_ops[end].Kind))
            {
                end++;
            }

            EmitInterpretRun(i, end);
            endsInBranch = false;
            i = end;
        }

        if (!endsInBranch)
        {
            ref MicroOp last = ref _ops[^1];
            EmitExitAfter(_ops.Length - 1, (uint)(last.Offset + last.Length));
        }

        _il.MarkLabel(_exit);
        StoreRegisters();
        EmitChainOrReturn();
    }

    /// <summary>
    /// Every exit ends here with the state written back: when the dispatcher would run a compiled block next, the
    /// run is retired and that block's code is tail-called (QEMU's goto_tb chaining), so a hot loop over several
    /// blocks never returns to the dispatcher and the .NET stack does not grow; otherwise the count is returned.
    /// </summary>
    private void EmitChainOrReturn()
    {
        Label leave = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _result);
        _il.Emit(OpCodes.Ldarg_3);
        _il.Emit(OpCodes.Call, ChainNext);
        _il.Emit(OpCodes.Stloc, _next);
        _il.Emit(OpCodes.Ldloc, _next);
        _il.Emit(OpCodes.Brfalse, leave);
        _il.Emit(OpCodes.Ldloc, _next);
        _il.Emit(OpCodes.Ldfld, CompiledCode);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _next);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, Eip);
        _il.Emit(OpCodes.Ldarg_3);
        _il.Emit(OpCodes.Tailcall);
        _il.Emit(OpCodes.Callvirt, InvokeCompiled);
        _il.Emit(OpCodes.Ret);
        _il.MarkLabel(leave);
        _il.Emit(OpCodes.Ldloc, _result);
        _il.Emit(OpCodes.Ret);
    }

    /// <summary>Emits instruction <paramref name="i"/>; true when it always leaves the block (JMP, CALL, RET).</summary>
    private bool EmitInstruction(int i)
    {
        ref MicroOp op = ref _ops[i];
        switch (op.Kind)
        {
            case MicroOpKind.Nop:
                return false;
            case MicroOpKind.MovRegReg:
                _il.Emit(OpCodes.Ldloc, _reg[op.B]);
                _il.Emit(OpCodes.Stloc, _reg[op.A]);
                return false;
            case MicroOpKind.MovRegImm:
                EmitConst(op.Imm);
                _il.Emit(OpCodes.Stloc, _reg[op.A]);
                return false;
            case MicroOpKind.Lea:
                EmitEffectiveAddress(in op);
                _il.Emit(OpCodes.Stloc, _reg[op.A]);
                return false;
            case MicroOpKind.MovRegMem:
            case MicroOpKind.MovzxRegMem8:
            case MicroOpKind.AluRegMem:
                EmitLoadOp(i);
                return false;
            case MicroOpKind.MovMemReg:
            case MicroOpKind.MovMemImm:
            case MicroOpKind.MovMemReg8:
                EmitStoreOp(i);
                return false;
            case MicroOpKind.PushReg:
                EmitPush(i);
                return false;
            case MicroOpKind.PopReg:
                EmitPop(i);
                return false;
            case MicroOpKind.Jcc:
                EmitJcc(i);
                return false;
            case MicroOpKind.Jmp:
                EmitJmp(i);
                return true;
            case MicroOpKind.CallRel:
                EmitCall(i);
                return true;
            case MicroOpKind.Ret:
                EmitRet(i);
                return true;
            default:
                EmitArithmetic(in op);
                return false;
        }
    }

    /// <summary>
    /// Tier 1 runs instructions <paramref name="first"/> up to <paramref name="end"/> (exclusive) over the CPU's
    /// fields; the block goes on after them unless they left it.
    /// </summary>
    private void EmitInterpretRun(int first, int end)
    {
        FlushFlags();
        StoreRegisters();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldarg_1);
        EmitConst(first);
        EmitConst(end);
        _il.Emit(OpCodes.Ldarg_2);
        _il.Emit(OpCodes.Call, InterpretRun);
        _il.Emit(OpCodes.Stloc, _result);
        LoadRegisters();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, Mmu);
        _il.Emit(OpCodes.Stloc, _mmu);
        _knownCc = null;
        _ccDirty = false;
        Label goOn = _il.DefineLabel();
        _il.Emit(OpCodes.Ldloc, _result);
        EmitConst(Continue);
        _il.Emit(OpCodes.Beq, goOn);
        _il.Emit(OpCodes.Br, _exit);
        _il.MarkLabel(goOn);
    }

    // ---- exits ----

    /// <summary>Leaves before instruction <paramref name="i"/> (a fault, or a case for tier 1): EIP at it, <paramref name="i"/> done.</summary>
    private void EmitExitBefore(int i) => EmitExit(i, (uint)_ops[i].Offset);

    /// <summary>Leaves after instruction <paramref name="i"/> with EIP = start + <paramref name="eipOffset"/>.</summary>
    private void EmitExitAfter(int i, uint eipOffset) => EmitExit(i + 1, eipOffset);

    private void EmitExit(int done, uint eipOffset)
    {
        // A side exit: the flags stored here stay unstored on the path that goes on.
        bool dirty = _ccDirty;
        FlushFlags();
        _ccDirty = dirty;
        _il.Emit(OpCodes.Ldarg_0);
        EmitStartPlus(eipOffset);
        _il.Emit(OpCodes.Stfld, Eip);
        EmitConst(done);
        _il.Emit(OpCodes.Stloc, _result);
        _il.Emit(OpCodes.Br, _exit);
    }

    /// <summary>Leaves after instruction <paramref name="i"/> with EIP from the value on the IL stack.</summary>
    private void EmitExitAfterToStackTarget(int i)
    {
        _il.Emit(OpCodes.Stloc, _address);
        bool dirty = _ccDirty;
        FlushFlags();
        _ccDirty = dirty;
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Stfld, Eip);
        EmitConst(i + 1);
        _il.Emit(OpCodes.Stloc, _result);
        _il.Emit(OpCodes.Br, _exit);
    }

    /// <summary>
    /// A branch back to the block's own start: runs the block again inside this method while tier 1's dispatcher
    /// would (QEMU's chaining of a TB to itself), else leaves with EIP at the start.
    /// </summary>
    private void EmitLoopBack(int i)
    {
        Label leave = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldarg_3);
        _il.Emit(OpCodes.Ldloc, _epoch);
        _il.Emit(OpCodes.Call, ContinueLoop);
        _il.Emit(OpCodes.Brfalse, leave);
        bool dirty = _ccDirty;
        FlushFlags();
        _ccDirty = dirty;
        _il.Emit(OpCodes.Br, _top);
        _il.MarkLabel(leave);
        EmitExitAfter(i, 0);
    }

    // ---- state ----

    private void LoadRegisters()
    {
        for (int r = 0; r < _reg.Length; r++)
        {
            if (!_inLocal[r])
            {
                continue;
            }

            _il.Emit(OpCodes.Ldloc, _gprArray);
            EmitConst(r);
            _il.Emit(OpCodes.Ldelem_U4);
            _il.Emit(OpCodes.Stloc, _reg[r]);
        }
    }

    private void StoreRegisters()
    {
        for (int r = 0; r < _reg.Length; r++)
        {
            if (!_inLocal[r])
            {
                continue;
            }

            _il.Emit(OpCodes.Ldloc, _gprArray);
            EmitConst(r);
            _il.Emit(OpCodes.Ldloc, _reg[r]);
            _il.Emit(OpCodes.Stelem_I4);
        }
    }

    /// <summary>Stores the flag locals into the CPU's lazy-flag fields when they differ.</summary>
    private void FlushFlags()
    {
        if (!_ccDirty || _knownCc is not { } cc)
        {
            return;
        }

        _il.Emit(OpCodes.Ldarg_0);
        EmitConst((int)cc);
        _il.Emit(OpCodes.Stfld, CcOpField);
        StoreCpuField(CcRes, _ccRes);
        StoreCpuField(CcSrc1, _ccSrc1);
        StoreCpuField(CcSrc2, _ccSrc2);
        _il.Emit(OpCodes.Ldarg_0);
        EmitConst(0x8000_0000u);
        _il.Emit(OpCodes.Stfld, CcSign);
        _ccDirty = false;
    }

    private void StoreCpuField(FieldInfo field, LocalBuilder local)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldloc, local);
        _il.Emit(OpCodes.Stfld, field);
    }

    // ---- operands ----

    /// <summary>Disp + base + (index &lt;&lt; scale), as tier 1 computes it (32-bit wrap).</summary>
    private void EmitEffectiveAddress(in MicroOp op)
    {
        EmitConst(op.Disp);
        if (op.Base != X86Cpu.NoRegister)
        {
            _il.Emit(OpCodes.Ldloc, _reg[op.Base]);
            _il.Emit(OpCodes.Add);
        }

        if (op.Index != X86Cpu.NoRegister)
        {
            _il.Emit(OpCodes.Ldloc, _reg[op.Index]);
            if (op.Scale != 0)
            {
                EmitConst(op.Scale);
                _il.Emit(OpCodes.Shl);
            }

            _il.Emit(OpCodes.Add);
        }
    }

    /// <summary>start + <paramref name="offset"/> (mod 2^32): an EIP inside or after the block.</summary>
    private void EmitStartPlus(uint offset)
    {
        _il.Emit(OpCodes.Ldarg_2);
        if (offset != 0)
        {
            EmitConst(offset);
            _il.Emit(OpCodes.Add);
        }
    }

    private void EmitConst(uint value) => _il.Emit(OpCodes.Ldc_I4, unchecked((int)value));

    private void EmitConst(int value) => _il.Emit(OpCodes.Ldc_I4, value);

    private static FieldInfo CpuField(string name) =>
        typeof(X86Cpu).GetField(name, Members) ?? throw new MissingFieldException(nameof(X86Cpu), name);

    private static MethodInfo CpuMethod(string name) =>
        typeof(X86Cpu).GetMethod(name, Members) ?? throw new MissingMethodException(nameof(X86Cpu), name);
}
