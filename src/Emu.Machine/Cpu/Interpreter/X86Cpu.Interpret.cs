using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emu.Machine.Cpu.Cache;
using Emu.Machine.Cpu.State;
using Emu.Machine.Cpu.Tlb;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// The interpreter's hot loop: one switch over micro-ops per instruction, fast handlers inline. EIP is not
/// maintained per instruction: it is block start + the micro-op's offset, written back only where something
/// can observe it (a fault, the generic path, the end of the block).
/// </summary>
public sealed unsafe partial class X86Cpu
{
    /// <summary>Runs the first <paramref name="count"/> instructions of a block; returns how many completed.</summary>
    private int Interpret(DecodedBlock block, int count) =>
        Interpret(block, count == block.Count ? block.WholeRunOps : block.Ops, 0, count, _eip);

    /// <summary>
    /// Runs instructions <paramref name="first"/> up to <paramref name="count"/> (exclusive) of a block whose first
    /// instruction is at EIP <paramref name="start"/>, with the micro-ops <paramref name="ops"/> (the block's own
    /// or its whole-run form); returns the index of the first instruction not completed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Interpret(DecodedBlock block, MicroOp[] ops, int first, int count, uint start)
    {
        uint ipMask = _code32 ? 0xFFFF_FFFF : 0xFFFF;
        ref uint gpr = ref MemoryMarshal.GetArrayDataReference(_gpr);
        ref MicroOp op0 = ref MemoryMarshal.GetArrayDataReference(ops);
        SegmentCache[] segs = _seg;
        TlbEntry[] tlbRead = _tlbRead;
        TlbEntry[] tlbWrite = _tlbWrite;
        int mmu = _mmu;
        bool lastGeneric = false;
        for (int i = first; i < count; i++)
        {
            ref MicroOp op = ref Unsafe.Add(ref op0, i);
            switch (op.Kind)
            {
                case MicroOpKind.AddRegReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = Unsafe.Add(ref gpr, op.B);
                        SetAluResult(CcOp.Add, ref d, a, b, a + b, write: true);
                        continue;
                    }

                case MicroOpKind.AddRegImm:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = op.Imm;
                        SetAluResult(CcOp.Add, ref d, a, b, a + b, write: true);
                        continue;
                    }

                case MicroOpKind.SubRegReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = Unsafe.Add(ref gpr, op.B);
                        SetAluResult(CcOp.Sub, ref d, a, b, a - b, write: true);
                        continue;
                    }

                case MicroOpKind.SubRegImm:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = op.Imm;
                        SetAluResult(CcOp.Sub, ref d, a, b, a - b, write: true);
                        continue;
                    }

                case MicroOpKind.XorRegReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = Unsafe.Add(ref gpr, op.B);
                        SetAluResult(CcOp.Logic, ref d, a, b, a ^ b, write: true);
                        continue;
                    }

                case MicroOpKind.XorRegImm:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = op.Imm;
                        SetAluResult(CcOp.Logic, ref d, a, b, a ^ b, write: true);
                        continue;
                    }

                case MicroOpKind.AndRegReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = Unsafe.Add(ref gpr, op.B);
                        SetAluResult(CcOp.Logic, ref d, a, b, a & b, write: true);
                        continue;
                    }

                case MicroOpKind.AndRegImm:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = op.Imm;
                        SetAluResult(CcOp.Logic, ref d, a, b, a & b, write: true);
                        continue;
                    }

                case MicroOpKind.OrRegReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = Unsafe.Add(ref gpr, op.B);
                        SetAluResult(CcOp.Logic, ref d, a, b, a | b, write: true);
                        continue;
                    }

                case MicroOpKind.OrRegImm:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = op.Imm;
                        SetAluResult(CcOp.Logic, ref d, a, b, a | b, write: true);
                        continue;
                    }

                case MicroOpKind.CmpRegReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = Unsafe.Add(ref gpr, op.B);
                        SetAluResult(CcOp.Sub, ref d, a, b, a - b, write: false);
                        continue;
                    }

                case MicroOpKind.CmpRegImm:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = op.Imm;
                        SetAluResult(CcOp.Sub, ref d, a, b, a - b, write: false);
                        continue;
                    }

                case MicroOpKind.TestRegReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = Unsafe.Add(ref gpr, op.B);
                        SetAluResult(CcOp.Logic, ref d, a, b, a & b, write: false);
                        continue;
                    }

                case MicroOpKind.TestRegImm:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        uint a = d, b = op.Imm;
                        SetAluResult(CcOp.Logic, ref d, a, b, a & b, write: false);
                        continue;
                    }

                case MicroOpKind.AddRegRegNoFlags:
                    Unsafe.Add(ref gpr, op.A) += Unsafe.Add(ref gpr, op.B);
                    continue;
                case MicroOpKind.AddRegImmNoFlags:
                    Unsafe.Add(ref gpr, op.A) += op.Imm;
                    continue;
                case MicroOpKind.SubRegRegNoFlags:
                    Unsafe.Add(ref gpr, op.A) -= Unsafe.Add(ref gpr, op.B);
                    continue;
                case MicroOpKind.SubRegImmNoFlags:
                    Unsafe.Add(ref gpr, op.A) -= op.Imm;
                    continue;
                case MicroOpKind.XorRegRegNoFlags:
                    Unsafe.Add(ref gpr, op.A) ^= Unsafe.Add(ref gpr, op.B);
                    continue;
                case MicroOpKind.XorRegImmNoFlags:
                    Unsafe.Add(ref gpr, op.A) ^= op.Imm;
                    continue;
                case MicroOpKind.AndRegRegNoFlags:
                    Unsafe.Add(ref gpr, op.A) &= Unsafe.Add(ref gpr, op.B);
                    continue;
                case MicroOpKind.AndRegImmNoFlags:
                    Unsafe.Add(ref gpr, op.A) &= op.Imm;
                    continue;
                case MicroOpKind.OrRegRegNoFlags:
                    Unsafe.Add(ref gpr, op.A) |= Unsafe.Add(ref gpr, op.B);
                    continue;
                case MicroOpKind.OrRegImmNoFlags:
                    Unsafe.Add(ref gpr, op.A) |= op.Imm;
                    continue;
                case MicroOpKind.IncRegNoFlags:
                    Unsafe.Add(ref gpr, op.A)++;
                    continue;
                case MicroOpKind.DecRegNoFlags:
                    Unsafe.Add(ref gpr, op.A)--;
                    continue;
                case MicroOpKind.ShiftRegImmNoFlags:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        d = Shifted((ShiftKind)op.B, d, (int)op.Imm);
                        continue;
                    }

                case MicroOpKind.MovRegReg:
                    Unsafe.Add(ref gpr, op.A) = Unsafe.Add(ref gpr, op.B);
                    continue;
                case MicroOpKind.MovRegImm:
                    Unsafe.Add(ref gpr, op.A) = op.Imm;
                    continue;
                case MicroOpKind.IncReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        PreserveCarry();
                        uint a = d;
                        d = a + 1;
                        SetLazy(CcOp.Inc, a + 1, a, 1, 0x8000_0000);
                        continue;
                    }

                case MicroOpKind.DecReg:
                    {
                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        PreserveCarry();
                        uint a = d;
                        d = a - 1;
                        SetLazy(CcOp.Dec, a - 1, a, 1, 0x8000_0000);
                        continue;
                    }

                case MicroOpKind.Lea:
                    Unsafe.Add(ref gpr, op.A) = op.Disp + Unsafe.Add(ref gpr, op.Base) + (Unsafe.Add(ref gpr, op.Index) << op.Scale);
                    continue;
                case MicroOpKind.Nop:
                    continue;
                case MicroOpKind.ShiftRegImm:
                    FastShift((ShiftKind)op.B, ref Unsafe.Add(ref gpr, op.A), (int)op.Imm);
                    continue;

                case MicroOpKind.MovRegMem:
                case MicroOpKind.AluRegMem:
                case MicroOpKind.MovzxRegMem8:
                    {
                        uint ea = op.Disp + Unsafe.Add(ref gpr, op.Base) + (Unsafe.Add(ref gpr, op.Index) << op.Scale);
                        ref SegmentCache s = ref segs[op.Seg];
                        if (ea > s.ReadMax4)
                        {
                            break;
                        }

                        bool loaded = op.Kind == MicroOpKind.MovzxRegMem8
                            ? TryLoad(tlbRead, s.Base + ea, 1, mmu, start + op.Offset, out uint v)
                            : TryLoad(tlbRead, s.Base + ea, 4, mmu, start + op.Offset, out v);
                        if (!loaded)
                        {
                            return i;
                        }

                        ref uint d = ref Unsafe.Add(ref gpr, op.A);
                        if (op.Kind != MicroOpKind.AluRegMem)
                        {
                            d = v;
                        }
                        else
                        {
                            FastAlu((AluKind)op.Imm, ref d, d, v);
                        }

                        continue;
                    }

                case MicroOpKind.MovMemReg:
                case MicroOpKind.MovMemImm:
                case MicroOpKind.MovMemReg8:
                    {
                        uint ea = op.Disp + Unsafe.Add(ref gpr, op.Base) + (Unsafe.Add(ref gpr, op.Index) << op.Scale);
                        ref SegmentCache s = ref segs[op.Seg];
                        if (ea > s.WriteMax4)
                        {
                            break;
                        }

                        uint lin = s.Base + ea;
                        uint v = op.Kind == MicroOpKind.MovMemImm ? op.Imm : Unsafe.Add(ref gpr, op.B);
                        bool stored = op.Kind == MicroOpKind.MovMemReg8
                            ? TryStore(tlbWrite, lin, 1, v, mmu, start + op.Offset)
                            : TryStore(tlbWrite, lin, 4, v, mmu, start + op.Offset);
                        if (!stored)
                        {
                            return i;
                        }

                        if (_blockExit)
                        {
                            // The store hit this block's code: leave before running stale micro-ops.
                            _eip = (start + op.Offset + op.Length) & ipMask;
                            return i + 1;
                        }

                        continue;
                    }

                case MicroOpKind.AluMemReg:
                    {
                        uint ea = op.Disp + Unsafe.Add(ref gpr, op.Base) + (Unsafe.Add(ref gpr, op.Index) << op.Scale);
                        ref SegmentCache s = ref segs[op.Seg];
                        if (ea > s.WriteMax4 || ea > s.ReadMax4)
                        {
                            break;
                        }

                        uint lin = s.Base + ea;
                        ref TlbEntry e = ref tlbWrite[(int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu];
                        if (e.Tag != ((lin & 0xFFFF_F000) | 1) || (lin & 0xFFF) > 0xFFC)
                        {
                            break;
                        }

                        uint a = Unsafe.ReadUnaligned<uint>(e.Host + (lin & 0xFFF));
                        uint r = a;
                        FastAlu((AluKind)op.Imm, ref r, a, Unsafe.Add(ref gpr, op.B));
                        if (r != a || (AluKind)op.Imm is not (AluKind.Cmp or AluKind.Test))
                        {
                            Unsafe.WriteUnaligned(e.Host + (lin & 0xFFF), r);
                            e.Log!.MarkPageDirty(e.PageIndex);
                            if (_blockExit)
                            {
                                _eip = (start + op.Offset + op.Length) & ipMask;
                                return i + 1;
                            }
                        }

                        continue;
                    }

                case MicroOpKind.Jcc:
                    if (FastCondition(op.A))
                    {
                        uint t = (start + op.Offset + op.Length + op.Disp) & ipMask;
                        if (t > segs[SegCs].Limit)
                        {
                            break;
                        }

                        _eip = t;
                        return i + 1;
                    }

                    continue;
                case MicroOpKind.Jmp:
                    {
                        uint t = (start + op.Offset + op.Length + op.Disp) & ipMask;
                        if (t > segs[SegCs].Limit)
                        {
                            break;
                        }

                        _eip = t;
                        return i + 1;
                    }

                case MicroOpKind.CallRel:
                case MicroOpKind.PushReg:
                    {
                        if (!_stack32)
                        {
                            break;
                        }

                        uint esp = Unsafe.Add(ref gpr, RegEsp) - 4;
                        ref SegmentCache s = ref segs[SegSs];
                        if (esp > s.WriteMax4)
                        {
                            break;
                        }

                        uint next = (start + op.Offset + op.Length) & ipMask;
                        uint t = (next + op.Disp) & ipMask;
                        if (op.Kind == MicroOpKind.CallRel && t > segs[SegCs].Limit)
                        {
                            break;
                        }

                        uint v = op.Kind == MicroOpKind.CallRel ? next : Unsafe.Add(ref gpr, op.A);
                        if (!TryStore(tlbWrite, s.Base + esp, 4, v, mmu, start + op.Offset))
                        {
                            return i;
                        }

                        Unsafe.Add(ref gpr, RegEsp) = esp;
                        if (op.Kind == MicroOpKind.CallRel)
                        {
                            _eip = t;
                            return i + 1;
                        }

                        if (_blockExit)
                        {
                            _eip = next;
                            return i + 1;
                        }

                        continue;
                    }

                case MicroOpKind.PopReg:
                case MicroOpKind.Ret:
                    {
                        if (!_stack32)
                        {
                            break;
                        }

                        uint esp = Unsafe.Add(ref gpr, RegEsp);
                        ref SegmentCache s = ref segs[SegSs];
                        if (esp > s.ReadMax4)
                        {
                            break;
                        }

                        if (!TryLoad(tlbRead, s.Base + esp, 4, mmu, start + op.Offset, out uint v))
                        {
                            return i;
                        }

                        if (op.Kind == MicroOpKind.Ret)
                        {
                            if (v > segs[SegCs].Limit)
                            {
                                break;
                            }

                            Unsafe.Add(ref gpr, RegEsp) = esp + 4;
                            _eip = v;
                            return i + 1;
                        }

                        Unsafe.Add(ref gpr, RegEsp) = esp + 4;
                        Unsafe.Add(ref gpr, op.A) = v;
                        continue;
                    }
            }

            // Generic path: the full interpreter works on _eip/_nextEip.
            _eip = (start + op.Offset) & ipMask;
            _nextEip = (start + op.Offset + op.Length) & ipMask;
            _doneInBlock = i;
            ExecuteGeneric(in block.Instructions[i]);
            if (_blockExit)
            {
                if (_faultVector >= 0)
                {
                    return i;
                }

                _eip = _nextEip;
                return i + 1;
            }

            lastGeneric = i == count - 1;
            mmu = _mmu;
        }

        if (lastGeneric)
        {
            _eip = _nextEip;
        }
        else
        {
            ref MicroOp last = ref Unsafe.Add(ref op0, count - 1);
            _eip = (start + last.Offset + last.Length) & ipMask;
        }

        return count;
    }

    /// <summary>
    /// A 1- or 4-byte load for a micro-op: one TLB compare and a host read; on a miss the slow path runs with EIP at
    /// the instruction (<paramref name="eipAt"/>, unmasked) so a fault restarts it. False when it faulted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLoad(TlbEntry[] tlb, uint lin, int size, int mmu, uint eipAt, out uint value)
    {
        ref TlbEntry e = ref TlbSlot(tlb, lin, mmu);
        if (e.Tag == ((lin & 0xFFFF_F000) | 1) && (lin & 0xFFF) <= 0x1000 - (uint)size)
        {
            byte* p = e.Host + (lin & 0xFFF);
            value = size == 1 ? *p : Unsafe.ReadUnaligned<uint>(p);
            return true;
        }

        value = ReadLinSlowAt(lin, size, mmu, eipAt);
        return _faultVector < 0;
    }

    /// <summary>The store twin of <see cref="TryLoad"/>, with the write barrier on the fast path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryStore(TlbEntry[] tlb, uint lin, int size, uint value, int mmu, uint eipAt)
    {
        ref TlbEntry e = ref TlbSlot(tlb, lin, mmu);
        if (e.Tag == ((lin & 0xFFFF_F000) | 1) && (lin & 0xFFF) <= 0x1000 - (uint)size)
        {
            byte* p = e.Host + (lin & 0xFFF);
            if (size == 1)
            {
                *p = (byte)value;
            }
            else
            {
                Unsafe.WriteUnaligned(p, value);
            }

            e.Log!.MarkPageDirty(e.PageIndex);
            return true;
        }

        WriteLinSlowAt(lin, size, value, mmu, eipAt);
        return _faultVector < 0;
    }

    /// <summary>The TLB entry for <paramref name="lin"/> in the <paramref name="mmu"/> half, without a bounds check (the index is masked into the array).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref TlbEntry TlbSlot(TlbEntry[] tlb, uint lin, int mmu) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(tlb), (int)((lin >> 12) & (Mmu.TlbSize - 1)) + mmu);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint ReadLinSlowAt(uint lin, int size, int mmu, uint eipAt)
    {
        _eip = _code32 ? eipAt : eipAt & 0xFFFF;
        return ReadLinSlow(lin, size, mmu);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteLinSlowAt(uint lin, int size, uint value, int mmu, uint eipAt)
    {
        _eip = _code32 ? eipAt : eipAt & 0xFFFF;
        WriteLinSlow(lin, size, value, mmu);
    }

    /// <summary>A 32-bit ALU operation with lazy flags; CMP and TEST leave the destination alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FastAlu(AluKind kind, ref uint dst, uint a, uint b)
    {
        switch (kind)
        {
            case AluKind.Add: SetAluResult(CcOp.Add, ref dst, a, b, a + b, write: true); break;
            case AluKind.Sub: SetAluResult(CcOp.Sub, ref dst, a, b, a - b, write: true); break;
            case AluKind.Cmp: SetAluResult(CcOp.Sub, ref dst, a, b, a - b, write: false); break;
            case AluKind.Xor: SetAluResult(CcOp.Logic, ref dst, a, b, a ^ b, write: true); break;
            case AluKind.And: SetAluResult(CcOp.Logic, ref dst, a, b, a & b, write: true); break;
            case AluKind.Or: SetAluResult(CcOp.Logic, ref dst, a, b, a | b, write: true); break;
            default: SetAluResult(CcOp.Logic, ref dst, a, b, a & b, write: false); break;
        }
    }

    /// <summary>Stores a 32-bit ALU result (unless CMP/TEST) and leaves its flags lazy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetAluResult(CcOp cc, ref uint dst, uint a, uint b, uint r, bool write)
    {
        if (write)
        {
            dst = r;
        }

        _ccOp = cc;
        _ccRes = r;
        _ccSrc1 = a;
        _ccSrc2 = b;
        _ccSign = 0x8000_0000;
    }

    /// <summary>Jcc's condition, with shortcuts for the flags a preceding 32-bit CMP/SUB or logic op left lazy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FastCondition(byte cc)
    {
        if (_ccSign == 0x8000_0000)
        {
            if (_ccOp == CcOp.Sub)
            {
                uint a = _ccSrc1, b = _ccSrc2;
                switch ((ConditionCode)cc)
                {
                    case ConditionCode.e: return a == b;
                    case ConditionCode.ne: return a != b;
                    case ConditionCode.b: return a < b;
                    case ConditionCode.ae: return a >= b;
                    case ConditionCode.be: return a <= b;
                    case ConditionCode.a: return a > b;
                    case ConditionCode.l: return (int)a < (int)b;
                    case ConditionCode.ge: return (int)a >= (int)b;
                    case ConditionCode.le: return (int)a <= (int)b;
                    case ConditionCode.g: return (int)a > (int)b;
                }
            }
            else if (_ccOp != CcOp.Eflags)
            {
                switch ((ConditionCode)cc)
                {
                    case ConditionCode.e: return _ccRes == 0;
                    case ConditionCode.ne: return _ccRes != 0;
                    case ConditionCode.s: return (int)_ccRes < 0;
                    case ConditionCode.ns: return (int)_ccRes >= 0;
                }
            }
        }

        return Condition((ConditionCode)cc);
    }
}
