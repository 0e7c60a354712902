using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emu.Machine.Cpu.Cache;
using Emu.Machine.Cpu.Jit;
using Emu.Machine.Cpu.State;

namespace Emu.Machine.Cpu;

/// <summary>
/// What tier 2's compiled blocks call (QEMU's TCG helpers): memory access with the software-TLB fast path and the
/// write barrier (inlined into the compiled code by the .NET JIT) and tier 1's slow path behind it, tier 1 for one
/// instruction the compiler has no form for, and the check a block makes before running itself again. Each keeps
/// tier 1's order of checks, so a compiled block leaves the machine exactly as the interpreter would.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>A 1- or 4-byte load at Seg:<paramref name="ea"/> for the instruction at <paramref name="eipAt"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal AccessOutcome CompiledLoad(int seg, uint ea, int size, int mmu, uint eipAt, out uint value)
    {
        ref SegmentCache s = ref Segment(seg);
        if (ea > s.ReadMax4)
        {
            value = 0;
            return AccessOutcome.NeedsInterpreter;
        }

        return TryLoad(_tlbRead, s.Base + ea, size, mmu, eipAt, out value) ? AccessOutcome.Done : AccessOutcome.Faulted;
    }

    /// <summary>A 1- or 4-byte store at Seg:<paramref name="ea"/> through the write barrier.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal AccessOutcome CompiledStore(int seg, uint ea, int size, uint value, int mmu, uint eipAt)
    {
        ref SegmentCache s = ref Segment(seg);
        if (ea > s.WriteMax4)
        {
            return AccessOutcome.NeedsInterpreter;
        }

        if (!TryStore(_tlbWrite, s.Base + ea, size, value, mmu, eipAt))
        {
            return AccessOutcome.Faulted;
        }

        return _blockExit ? AccessOutcome.EndsBlock : AccessOutcome.Done;
    }

    /// <summary>Segment register <paramref name="seg"/> (0-5, a translation-time constant) without a bounds check.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref SegmentCache Segment(int seg) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_seg), seg);

    /// <summary>PUSH's or CALL's store at SS:<paramref name="esp"/> (the new ESP), on a 32-bit stack only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal AccessOutcome CompiledStackStore(uint esp, uint value, int mmu, uint eipAt) =>
        _stack32 ? CompiledStore(SegSs, esp, 4, value, mmu, eipAt) : AccessOutcome.NeedsInterpreter;

    /// <summary>POP's or RET's load at SS:<paramref name="esp"/>, on a 32-bit stack only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal AccessOutcome CompiledStackLoad(uint esp, int mmu, uint eipAt, out uint value)
    {
        if (!_stack32)
        {
            value = 0;
            return AccessOutcome.NeedsInterpreter;
        }

        return CompiledLoad(SegSs, esp, 4, mmu, eipAt, out value);
    }

    /// <summary>True when a near branch target is inside CS (tier 1 leaves the #GP to the generic path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool CompiledBranchInLimit(uint target) => target <= Segment(SegCs).Limit;

    /// <summary>A shift or rotate with its flags (the lazy flags are in the fields when this is called).</summary>
    internal uint CompiledShift(ShiftKind kind, uint value, int count)
    {
        FastShift(kind, ref value, count);
        return value;
    }

    /// <summary>
    /// Tier 1 for instructions <paramref name="first"/> up to <paramref name="end"/> (exclusive) of a compiled block
    /// (registers and flags are in the fields): -1 when the block goes on with instruction <paramref name="end"/>,
    /// else the count the compiled block returns.
    /// </summary>
    internal int CompiledInterpretRun(DecodedBlock block, int first, int end, uint start)
    {
        int done = Interpret(block, block.WholeRunOps, first, end, start);
        ref MicroOp last = ref block.WholeRunOps[end - 1];
        return done == end && !_blockExit && _faultVector < 0 && _eip == start + last.Offset + last.Length ? -1 : done;
    }

    /// <summary>
    /// At a compiled block's branch back to its own start: true (and the finished run retired) when tier 1's
    /// dispatcher would run the whole block again straight away (budget, exit requests, NMI, a deliverable
    /// interrupt, the block still valid and its link epoch unchanged, no debug checks or exec tracing).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool CompiledContinueLoop(DecodedBlock block, long end, int epoch)
    {
        if (_retired + 2L * block.Count > end || BoundaryEventPending() || !block.Valid || _linkEpoch != epoch || NeedsDispatcherChecks())
        {
            return false;
        }

        RetireCompiledRun(block.Count);
        return true;
    }

    /// <summary>
    /// At a compiled block's exit, after <paramref name="done"/> instructions: the successor the dispatcher would run
    /// next when it is compiled and would run whole (its link from this block still valid, the budget and CS limit
    /// room for all of it, nothing that makes the dispatcher stop: a fault, a block exit, an exit request, an NMI, a
    /// deliverable interrupt, debug checks, exec tracing). Then the finished run is retired and the successor becomes
    /// the current block; else null and nothing changes.
    /// </summary>
    internal DecodedBlock? CompiledChainNext(DecodedBlock block, int done, long end)
    {
        if (_blockExit || _faultVector >= 0 || _shadowRequested || BoundaryEventPending() || NeedsDispatcherChecks())
        {
            return null;
        }

        DecodedBlock? next = block.FollowLink(_eip, _linkEpoch);
        if (next?.Compiled == null || _retired + done + next.Count > end || RunsPastCsLimit(next))
        {
            return null;
        }

        RetireCompiledRun(done);
        _currentBlock = next;
        _blocksChained++;
        return next;
    }

    /// <summary>Debug checks or exec tracing are on: only the dispatcher may start the next run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool NeedsDispatcherChecks() => DebugArmed || Trace.Has(Diagnostics.TraceItems.Exec);

    /// <summary>As the dispatcher does between blocks: the run is retired, and nothing of the next one is done yet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RetireCompiledRun(int done)
    {
        _retired += done;
        _retiredCompiled += done;
        _doneInBlock = 0;
    }
}
