using Emu.Machine.Cpu.Cache;
using Emu.Machine.Cpu.Jit;
using Emu.Machine.Cpu.State;
using Emu.Machine.Cpu.Tlb;
using Emu.Machine.Cpu.Translation;
using Emu.Machine.Devices;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Emu.Machine.State;
using System.Runtime.CompilerServices;
using Serilog;

namespace Emu.Machine.Cpu;

/// <summary>
/// An i486-class x86 CPU with Pentium additions (QEMU target/i386). Decodes guest code with Iced once per
/// block, translates it into micro-ops and interprets them (tier 1); a block that keeps running is compiled from
/// the same micro-ops to IL (tier 2, <c>Jit/</c>). Memory goes through a software TLB to guest RAM, and every
/// store marks its page dirty (the write barrier migration depends on).
/// </summary>
/// <remarks>
/// Threading: <see cref="Run"/> and everything else except <see cref="RequestExit"/> run on the vCPU thread.
/// Code invalidation (<see cref="DirtyLog.CodePageWritten"/>) may come from any thread that writes RAM.
/// </remarks>
public sealed partial class X86Cpu : ArchState, IVmState<CpuState>
{
    private static readonly ILogger Log = Serilog.Log.ForContext<X86Cpu>();

    private readonly AddressSpace _memory;
    private readonly IoBus _io;
    private readonly IInterruptController _interrupts;

    /// <summary>The local APIC when the CPU has one (then CPUID says so and IA32_APIC_BASE drives it).</summary>
    private readonly ILocalApic? _localApic;
    private readonly CpuOptions _options;
    private readonly BlockCache _blocks = new();

    private long _retired;

    /// <summary>Instructions of the running block completed before the generic one now executing.</summary>
    private int _doneInBlock;
    private volatile bool _exitRequested;
    private bool _halted;
    private volatile bool _pendingNmi;

    /// <summary>Between an NMI's delivery and the next IRET, when another NMI waits.</summary>
    private bool _nmiBlocked;

    /// <summary>External interrupts are held off until <see cref="_retired"/> reaches this (STI, MOV SS shadow).</summary>
    private long _inhibitUntil;

    /// <summary>Set by STI / MOV SS / POP SS: after the block ends, hold interrupts for one more instruction.</summary>
    private bool _shadowRequested;

    /// <summary>Ends the current block after the current instruction (a fault, SMC on this block, a mode change).</summary>
    private bool _blockExit;

    private DecodedBlock? _currentBlock;
    private string? _shutdownReason;
    private int _memoryGeneration = -1;

    /// <summary>Bumped whenever a block link may have gone stale: TLB flush, CS or privilege change.</summary>
    internal int _linkEpoch;

    public X86Cpu(AddressSpace memory, IoBus io, IInterruptController interrupts, CpuOptions? options = null)
    {
        _memory = memory;
        _io = io;
        _interrupts = interrupts;
        _localApic = interrupts as ILocalApic;
        _options = options ?? CpuOptions.Default;
        _translator = new BlockTranslator(FetchCodeByte, _options);
        _compiledCode = _options.Jit ? new CompiledCodeCache(_options.JitCacheBlocks) : null;
        _tlb = new Mmu(memory);
        _tlbRead = _tlb.ReadTlb;
        _tlbWrite = _tlb.WriteTlb;
        Reset();
    }

    public string SectionName => "cpu";

    public VmStateDescription<CpuState> Vmsd => CpuState.Vmsd;

    /// <summary>Instructions completed since reset (a fault does not complete its instruction).</summary>
    public long InstructionsRetired => _retired;

    /// <summary>
    /// Instructions retired up to the one executing now, counting those already done in the current block (for
    /// the virtual clock's reading from inside RDTSC or a port read); from another thread, an estimate.
    /// </summary>
    public long InstructionsNow => _retired + _doneInBlock;

    /// <summary>True while in HLT waiting for an interrupt.</summary>
    public bool IsHalted => _halted;

    /// <summary>Why the CPU stopped when <see cref="Run"/> returned <see cref="CpuExitKind.Shutdown"/>.</summary>
    public string? ShutdownReason => _shutdownReason;

    /// <summary>RDTSC value source; null derives the counter from instructions retired.</summary>
    public Func<ulong>? TscSource { get; set; }

    /// <summary>The NMI pin: the NMI is taken at the next instruction boundary, whatever IF says.</summary>
    public void RaiseNmi()
    {
        _pendingNmi = true;
        _blockExit = true;
    }

    /// <summary>
    /// 386+ reset (QEMU x86_cpu_reset): real mode, CS=F000 with base FFFF0000, EIP=FFF0, EDX = CPU signature.
    /// </summary>
    public void Reset()
    {
        if (Trace.Has(Diagnostics.TraceItems.CpuReset))
        {
            TraceReset();
        }

        Array.Clear(_gpr);
        _gpr[RegEdx] = CpuidSignature;
        _eip = 0xFFF0;
        _eflags = 2;
        _ccOp = CcOp.Eflags;
        _cr0 = 0x6000_0010;
        _cr2 = _cr3 = _cr4 = 0;
        Array.Clear(_dr);
        _dr[6] = 0xFFFF0FF0;
        _dr[7] = 0x400;
        _efer = 0;
        _apicBase = 0xFEE0_0900;
        _localApic?.ApicBaseChanged(_apicBase);
        _tscOffset = 0;
        for (int i = 0; i < 6; i++)
        {
            LoadRealSegment(i, 0);
        }

        _seg[SegCs].Selector = 0xF000;
        _seg[SegCs].Base = 0xFFFF_0000;
        _gdtBase = _idtBase = 0;
        _gdtLimit = _idtLimit = 0xFFFF;
        _ldtr = default;
        _ldtr.Limit = 0xFFFF;
        _ldtr.Flags = SegmentCache.FlagP | (2u << 8);
        _tr = default;
        _tr.Limit = 0xFFFF;
        _tr.Flags = SegmentCache.FlagP | (11u << 8);
        _halted = false;
        _pendingNmi = false;
        _nmiBlocked = false;
        _inhibitUntil = 0;
        _shadowRequested = false;
        _faultVector = -1;
        _shutdownReason = null;
        FpuReset();
        UpdateMode();
        FlushCaches();
    }

    /// <summary>
    /// The multiboot v1 entry state (QEMU multiboot.c): flat 32-bit protected mode, CS/DS/ES/SS/FS/GS base 0 limit
    /// 4 GiB, paging off, interrupts off, EAX = magic, EBX = the info structure.
    /// </summary>
    public void EnterMultiboot(uint entryEip, uint eax, uint ebx)
    {
        EnterFlatProtectedMode(entryEip, 0x08, 0x10);
        _gpr[RegEax] = eax;
        _gpr[RegEbx] = ebx;
    }

    /// <summary>
    /// The Linux 32-bit boot protocol's entry state (Documentation/x86/boot.rst): flat protected mode with a GDT
    /// holding __BOOT_CS and __BOOT_DS, paging and interrupts off, ESI = boot_params, EBP = EDI = EBX = 0.
    /// </summary>
    public void EnterLinux32(uint entryEip, uint bootParams, ushort codeSelector, ushort dataSelector, uint gdtBase, ushort gdtLimit)
    {
        EnterFlatProtectedMode(entryEip, codeSelector, dataSelector);
        _gdtBase = gdtBase;
        _gdtLimit = gdtLimit;
        _gpr[RegEsi] = bootParams;
        _gpr[RegEbp] = _gpr[RegEdi] = _gpr[RegEbx] = 0;
    }

    private void EnterFlatProtectedMode(uint entryEip, ushort codeSelector, ushort dataSelector)
    {
        _cr0 = (_cr0 | Cr0Pe) & ~Cr0Pg;
        const uint code = SegmentCache.FlagP | SegmentCache.FlagS | SegmentCache.TypeCode | SegmentCache.TypeWritable | SegmentCache.TypeAccessed | SegmentCache.FlagB | SegmentCache.FlagG;
        const uint data = SegmentCache.FlagP | SegmentCache.FlagS | SegmentCache.TypeWritable | SegmentCache.TypeAccessed | SegmentCache.FlagB | SegmentCache.FlagG;
        for (int i = 0; i < 6; i++)
        {
            SetSegmentCache(i, i == SegCs ? codeSelector : dataSelector, 0, 0xFFFF_FFFF, i == SegCs ? code : data);
        }

        SetEflags(2, 0xFFFF_FFFF);
        _eip = entryEip;
        _halted = false;
        UpdateMode();
        FlushTlb();
    }

    /// <summary>Thread-safe: makes <see cref="Run"/> return <see cref="CpuExitKind.ExitRequested"/> at the next block boundary.</summary>
    public void RequestExit() => _exitRequested = true;

    /// <summary>Drops the TLB and every translated block (after a migration load or a memory map change).</summary>
    public void FlushCaches()
    {
        FlushTlb();
        _blocks.Clear();
        _memoryGeneration = _memory.Generation;
    }

    /// <summary>
    /// Runs guest code on the calling (vCPU) thread until about <paramref name="maxInstructions"/> have retired,
    /// the CPU halts with nothing to wake it, <see cref="RequestExit"/> is called, or the machine shuts down.
    /// Interrupts are taken at block boundaries.
    /// </summary>
    public CpuExitKind Run(long maxInstructions)
    {
        long end = _retired + maxInstructions;
        while (true)
        {
            if (_shutdownReason != null)
            {
                return CpuExitKind.Shutdown;
            }

            if (_debuggerStopped)
            {
                _debuggerStopped = false;
                return CpuExitKind.DebuggerStop;
            }

            if (_exitRequested)
            {
                _exitRequested = false;
                return CpuExitKind.ExitRequested;
            }

            if (_retired >= end)
            {
                return CpuExitKind.BudgetExhausted;
            }

            if (_pendingNmi && !_nmiBlocked && _retired >= _inhibitUntil)
            {
                // NMI ignores IF; it is held off by the STI/MOV SS shadow, and by a running NMI handler until IRET.
                _pendingNmi = false;
                _nmiBlocked = true;
                _halted = false;
                DeliverInterrupt(ExceptionNmi, InterruptSource.External, 0, _eip);
                if (_faultVector >= 0)
                {
                    DeliverPendingFault();
                }

                continue;
            }

            if ((_eflags & FlagIf) != 0 && _retired >= _inhibitUntil && _interrupts.HasPendingInterrupt)
            {
                int vector = _interrupts.AcknowledgeInterrupt();
                _halted = false;
                DeliverInterrupt(vector, InterruptSource.External, 0, _eip);
                if (_faultVector >= 0)
                {
                    DeliverPendingFault();
                }

                continue;
            }

            if (_halted)
            {
                return CpuExitKind.Halted;
            }

            if (_memoryGeneration != _memory.Generation)
            {
                FlushCaches();
            }

            ExecuteBlocks(end);
        }
    }

    /// <summary>
    /// Executes exactly one instruction, or delivers the one fault it raises (single-step for conformance vectors).
    /// Returns the exception vector delivered, or -1.
    /// </summary>
    internal int Step()
    {
        _lastDeliveredException = -1;
        if (!_halted && _shutdownReason == null)
        {
            ExecuteBlocks(_retired + 1);
        }

        return _lastDeliveredException;
    }

    /// <summary>
    /// Runs blocks back to back until the budget is spent or something needs the outer loop: a fault, a block
    /// that asked to exit (HLT, STI, mode changes), a pending interrupt with IF set, or an exit request.
    /// Consecutive blocks are found through the previous block's links (QEMU's TB chaining) when still valid.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ExecuteBlocks(long end)
    {
        DecodedBlock? previous = null;
        while (true)
        {
            DecodedBlock? block = null;
            if (previous != null)
            {
                block = previous.FollowLink(_eip, _linkEpoch);
            }

            if (block == null)
            {
                block = FindBlock();
                if (block == null)
                {
                    DeliverPendingFault();
                    return;
                }

                previous?.SetLink(block, _eip, _linkEpoch);
            }

            if (Trace.Has(Diagnostics.TraceItems.Exec))
            {
                TraceExec();
            }

            long budget = end - _retired;
            int n = budget < block.Count ? (int)budget : block.Count;
            bool debug = DebugArmed;
            bool stepping = (_eflags & FlagTf) != 0;
            bool resumed = (_eflags & FlagRf) != 0;
            if (debug)
            {
                if (_debuggerArmed && DebuggerBreaksHere())
                {
                    return;
                }

                if (!CheckInstructionBreakpoints())
                {
                    return;
                }

                n = 1;
            }

            if (RunsPastCsLimit(block))
            {
                // The block runs past the CS limit: run the instructions that fit; the next one faults here.
                uint limit = _seg[SegCs].Limit;
                int fit = _eip > limit ? 0 : block.CountWithin(limit - _eip);
                if (fit == 0)
                {
                    RaiseFault(ExceptionGp, 0);
                    DeliverPendingFault();
                    return;
                }

                n = Math.Min(n, fit);
            }

            _currentBlock = block;
            _blockExit = false;
            long deliveredBefore = _interruptsDelivered;
            int done;
            if (n == block.Count && !debug && _compiledCode != null && (block.Compiled ?? CompileWhenHot(block)) is { } code)
            {
                done = code(this, block, _eip, end);
                _retiredCompiled += done;

                // The compiled code may have chained into other blocks: the count is the last one's.
                block = _currentBlock!;
            }
            else
            {
                done = Interpret(block, n);
            }

            _retired += done;
            _doneInBlock = 0;
            _currentBlock = null;
            bool faulted = _faultVector >= 0;
            bool shadow = _shadowRequested;
            bool ended = _blockExit || faulted;
            if (ended)
            {
                if (faulted)
                {
                    DeliverPendingFault();
                }

                if (shadow)
                {
                    _shadowRequested = false;
                    _inhibitUntil = _retired + 1;
                }
            }

            if (debug)
            {
                FinishDebugStep(stepping, resumed, !faulted && done == n, deliveredBefore, shadow);
                if (_debuggerArmed)
                {
                    DebuggerStepDone();
                }

                return;
            }

            if (ended)
            {
                return;
            }

            if (_retired >= end || BoundaryEventPending())
            {
                return;
            }

            previous = block;
        }
    }

    /// <summary>What the outer loop must handle before another block runs: an exit request, an NMI, a deliverable interrupt.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool BoundaryEventPending() => _exitRequested || _pendingNmi || ((_eflags & FlagIf) != 0 && _interrupts.HasPendingInterrupt);

    /// <summary>True when <paramref name="block"/>, run from EIP, would go past the CS limit (protected mode checks it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool RunsPastCsLimit(DecodedBlock block) => (ulong)_eip + block.ByteLength - 1 > _seg[SegCs].Limit && ProtectedMode;
}
