using Emu.Machine.Cpu.State;
using Emu.Machine.Diagnostics;

namespace Emu.Machine.Cpu;

/// <summary>
/// Exceptions and interrupts (QEMU excp_helper.c / seg_helper.c do_interrupt_*): real-mode IVT, protected-mode
/// IDT gates with the TSS stack switch on a privilege change, virtual-8086 exits, double and triple faults.
/// </summary>
public sealed partial class X86Cpu
{
    internal const int ExceptionDe = 0, ExceptionDb = 1, ExceptionNmi = 2, ExceptionBp = 3, ExceptionOf = 4, ExceptionBr = 5,
        ExceptionUd = 6, ExceptionNm = 7, ExceptionDf = 8, ExceptionTs = 10, ExceptionNp = 11, ExceptionSs = 12,
        ExceptionGp = 13, ExceptionPf = 14, ExceptionMf = 16, ExceptionAc = 17;

    private static readonly string[] s_exceptionNames =
        ["#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM"];

    /// <summary>Pending fault vector raised by the current instruction, or -1.</summary>
    internal int _faultVector = -1;
    internal uint _faultError;

    internal enum InterruptSource
    {
        /// <summary>INTR from the interrupt controller.</summary>
        External,

        /// <summary>A CPU exception (fault or trap).</summary>
        Exception,

        /// <summary>INT n, INT3, INTO: gate DPL is checked against CPL.</summary>
        Software,
    }

    /// <summary>Records a fault of the current instruction; the block ends and the fault is delivered with EIP at the instruction.</summary>
    internal void RaiseFault(int vector, uint error = 0)
    {
        if (_faultVector < 0)
        {
            _faultVector = vector;
            _faultError = error;
        }

        _blockExit = true;
    }

    private static bool HasErrorCode(int vector) => vector is ExceptionDf or ExceptionTs or ExceptionNp or ExceptionSs or ExceptionGp or ExceptionPf or ExceptionAc;

    private static bool IsContributory(int vector) => vector is ExceptionDe or ExceptionTs or ExceptionNp or ExceptionSs or ExceptionGp;

    internal static string ExceptionName(int vector) => vector < s_exceptionNames.Length ? s_exceptionNames[vector] : $"vector {vector}";

    /// <summary>Delivers the pending fault, escalating to #DF and to shutdown as the manual's table 6-5 says.</summary>
    private void DeliverPendingFault()
    {
        int first = _faultVector;
        uint error = _faultError;
        _faultVector = -1;
        _blockExit = false;
        _halted = false;
        if (first != ExceptionDb)
        {
            // Faults push EFLAGS with RF set, so the restarted instruction does not hit its own breakpoint again.
            _eflags |= FlagRf;
        }

        DeliverException(first, error, 0);
    }

    /// <summary>The last exception vector delivered (diagnostics and single-stepping).</summary>
    internal int _lastDeliveredException = -1;

    private void DeliverException(int vector, uint error, int depth)
    {
        _lastDeliveredException = vector;
        DeliverInterrupt(vector, InterruptSource.Exception, error, _eip);
        if (_faultVector < 0)
        {
            return;
        }

        int second = _faultVector;
        uint secondError = _faultError;
        _faultVector = -1;
        if (vector == ExceptionDf || depth > 2)
        {
            _shutdownReason = $"cpu: triple fault: {ExceptionName(second)} (error 0x{secondError:x}) while delivering {ExceptionName(vector)} at {_seg[SegCs].Selector:x4}:{_eip:x8}";
            Log.Warning("{Reason}", _shutdownReason);
            return;
        }

        bool doubleFault = (IsContributory(vector) && IsContributory(second))
            || (vector == ExceptionPf && (IsContributory(second) || second == ExceptionPf));
        if (doubleFault)
        {
            DeliverException(ExceptionDf, 0, depth + 1);
        }
        else
        {
            DeliverException(second, secondError, depth + 1);
        }
    }

    /// <summary>
    /// Delivers an interrupt or exception (QEMU do_interrupt_all). <paramref name="returnEip"/> is pushed as the
    /// return address. On success CS:EIP point at the handler; a fault during delivery is left pending.
    /// </summary>
    internal void DeliverInterrupt(int vector, InterruptSource source, uint error, uint returnEip)
    {
        _interruptsDelivered++;
        if (Trace.Has(TraceItems.Int))
        {
            TraceInterrupt(vector, source, error, returnEip);
        }

        MaterializeFlags();
        if (!ProtectedMode)
        {
            DeliverRealMode(vector, returnEip);
        }
        else
        {
            DeliverProtectedMode(vector, source, error, returnEip);
        }
    }

    private void DeliverRealMode(int vector, uint returnEip)
    {
        uint entry = (uint)vector * 4;
        if (entry + 3 > _idtLimit)
        {
            RaiseFault(ExceptionGp, (uint)vector * 8 + 2);
            return;
        }

        uint offset = ReadSys(_idtBase + entry, 2);
        uint selector = ReadSys(_idtBase + entry + 2, 2);
        if (_faultVector >= 0)
        {
            return;
        }

        uint sp = _gpr[RegEsp];
        uint ssBase = _seg[SegSs].Base;
        uint mask = _stack32 ? 0xFFFF_FFFF : 0xFFFF;
        uint flags = GetEflags();
        sp -= 2;
        WriteLin16(ssBase + (sp & mask), (ushort)flags, _mmu);
        sp -= 2;
        WriteLin16(ssBase + (sp & mask), _seg[SegCs].Selector, _mmu);
        sp -= 2;
        WriteLin16(ssBase + (sp & mask), (ushort)returnEip, _mmu);
        if (_faultVector >= 0)
        {
            return;
        }

        _gpr[RegEsp] = (_gpr[RegEsp] & ~mask) | (sp & mask);
        _eflags &= ~(FlagIf | FlagTf | FlagAc | FlagRf);
        LoadRealSegment(SegCs, (ushort)selector);
        _eip = offset;
    }

    private void DeliverProtectedMode(int vector, InterruptSource source, uint error, uint returnEip)
    {
        uint ext = source == InterruptSource.Software ? 0u : 1u;
        uint gateError = (uint)vector * 8 + 2 + ext;
        if ((uint)vector * 8 + 7 > _idtLimit)
        {
            RaiseFault(ExceptionGp, gateError);
            return;
        }

        uint lo = ReadSys(_idtBase + (uint)vector * 8, 4);
        uint hi = ReadSys(_idtBase + (uint)vector * 8 + 4, 4);
        if (_faultVector >= 0)
        {
            return;
        }

        int type = (int)((hi >> 8) & 0x1F);
        int gateDpl = (int)((hi >> 13) & 3);
        bool gate32;
        bool trap;
        switch (type)
        {
            case 0x06: gate32 = false; trap = false; break;
            case 0x07: gate32 = false; trap = true; break;
            case 0x0E: gate32 = true; trap = false; break;
            case 0x0F: gate32 = true; trap = true; break;
            case 0x05: gate32 = false; trap = false; break;
            default:
                RaiseFault(ExceptionGp, gateError);
                return;
        }

        if (source == InterruptSource.Software && gateDpl < _cpl)
        {
            RaiseFault(ExceptionGp, gateError);
            return;
        }

        if ((hi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, gateError);
            return;
        }

        if (type == 0x05)
        {
            DeliverThroughTaskGate(vector, source, error, returnEip, lo, hi);
            return;
        }

        ushort selector = (ushort)(lo >> 16);
        uint offset = (lo & 0xFFFF) | (gate32 ? hi & 0xFFFF_0000 : 0);
        if ((selector & 0xFFFC) == 0)
        {
            RaiseFault(ExceptionGp, ext);
            return;
        }

        if (!ReadDescriptor(selector, out uint clo, out uint chi, out uint caddr))
        {
            return;
        }

        int dpl = (int)((chi >> 13) & 3);
        if ((chi & (SegmentCache.FlagS | SegmentCache.TypeCode)) != (SegmentCache.FlagS | SegmentCache.TypeCode) || dpl > _cpl)
        {
            RaiseFault(ExceptionGp, (selector & 0xFFFCu) + ext);
            return;
        }

        if ((chi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, (selector & 0xFFFCu) + ext);
            return;
        }

        bool conforming = (chi & SegmentCache.TypeExpandDown) != 0;
        bool fromVm86 = Vm86;
        uint oldFlags = GetEflags();
        ushort oldSs = _seg[SegSs].Selector;
        uint oldEsp = _gpr[RegEsp];
        ushort oldCs = _seg[SegCs].Selector;
        int newCpl = _cpl;
        uint ssBase, sp, spMask;

        if (!conforming && dpl < _cpl)
        {
            // Inner privilege: new stack from the TSS (QEMU get_ss_esp_from_tss).
            if (fromVm86 && dpl != 0)
            {
                RaiseFault(ExceptionGp, selector & 0xFFFCu);
                return;
            }

            if (!ReadInnerStack(dpl, out ushort newSs, out uint newEsp, out uint slo, out uint shi, out uint saddr))
            {
                return;
            }

            newCpl = dpl;
            ssBase = DescriptorBase(slo, shi);
            spMask = (shi & SegmentCache.FlagB) != 0 ? 0xFFFF_FFFF : 0xFFFF;
            sp = newEsp;
            int n = gate32 ? 4 : 2;
            int pushes = (fromVm86 ? 9 : 5) + (HasErrorCode(vector) && source == InterruptSource.Exception ? 1 : 0);
            uint lowest = (sp - (uint)(pushes * n)) & spMask;
            if (!Translate(ssBase + lowest, write: true, user: false, out _, out _) || !Translate(ssBase + ((sp - 1) & spMask), write: true, user: false, out _, out _))
            {
                return;
            }

            if (fromVm86)
            {
                Push(ssBase, ref sp, spMask, n, _seg[SegGs].Selector);
                Push(ssBase, ref sp, spMask, n, _seg[SegFs].Selector);
                Push(ssBase, ref sp, spMask, n, _seg[SegDs].Selector);
                Push(ssBase, ref sp, spMask, n, _seg[SegEs].Selector);
            }

            Push(ssBase, ref sp, spMask, n, oldSs);
            Push(ssBase, ref sp, spMask, n, oldEsp);
            if (!PushInterruptFrame(ssBase, ref sp, spMask, n, oldFlags, oldCs, returnEip, vector, source, error))
            {
                return;
            }

            EnterInnerStack(newSs, dpl, slo, shi, saddr, sp);
            if (fromVm86)
            {
                for (int s = 0; s < 6; s++)
                {
                    if (s != SegCs && s != SegSs)
                    {
                        _seg[s].Selector = 0;
                        _seg[s].Flags = 0;
                        _seg[s].Refresh(usable: false, protectedMode: true);
                    }
                }
            }
        }
        else
        {
            if (fromVm86)
            {
                RaiseFault(ExceptionGp, selector & 0xFFFCu);
                return;
            }

            ssBase = _seg[SegSs].Base;
            spMask = _stack32 ? 0xFFFF_FFFF : 0xFFFF;
            sp = oldEsp;
            int n = gate32 ? 4 : 2;
            if (!PushInterruptFrame(ssBase, ref sp, spMask, n, oldFlags, oldCs, returnEip, vector, source, error))
            {
                return;
            }

            _gpr[RegEsp] = (_gpr[RegEsp] & ~spMask) | (sp & spMask);
        }

        _eflags &= ~(FlagTf | FlagNt | FlagRf | FlagVm | (trap ? 0 : FlagIf));
        LoadCs(selector, clo, chi, caddr, conforming ? _cpl : newCpl);
        _eip = gate32 ? offset : offset & 0xFFFF;
        UpdateMode();
    }

    /// <summary>
    /// A task gate in the IDT (how #DF usually gets a known-good stack): switch tasks, then push the error code, if
    /// any, on the new task's stack.
    /// </summary>
    private void DeliverThroughTaskGate(int vector, InterruptSource source, uint error, uint returnEip, uint lo, uint hi)
    {
        if (!SwitchTask((ushort)(vector * 8), lo, hi, TaskSwitchSource.Interrupt, returnEip))
        {
            return;
        }

        if (HasErrorCode(vector) && source == InterruptSource.Exception)
        {
            bool tss32 = ((_tr.Flags >> 8) & 8) != 0;
            Push(error, tss32 ? 4 : 2);
        }
    }

    /// <summary>EFLAGS, CS, EIP and (for exceptions that have one) the error code; false when a push faulted.</summary>
    private bool PushInterruptFrame(uint ssBase, ref uint sp, uint spMask, int n, uint flags, ushort cs, uint returnEip, int vector, InterruptSource source, uint error)
    {
        Push(ssBase, ref sp, spMask, n, flags);
        Push(ssBase, ref sp, spMask, n, cs);
        Push(ssBase, ref sp, spMask, n, returnEip);
        if (HasErrorCode(vector) && source == InterruptSource.Exception)
        {
            Push(ssBase, ref sp, spMask, n, error);
        }

        return _faultVector < 0;
    }

    /// <summary>
    /// The stack for an inner privilege level <paramref name="dpl"/> (QEMU get_ss_esp_from_tss and the checks after
    /// it): SS:ESP from the TSS, SS a present writable data segment with RPL = DPL = <paramref name="dpl"/>, else #TS/#SS.
    /// </summary>
    private bool ReadInnerStack(int dpl, out ushort newSs, out uint newEsp, out uint slo, out uint shi, out uint saddr)
    {
        slo = shi = saddr = 0;
        if (!ReadTssStack(dpl, out newSs, out newEsp))
        {
            return false;
        }

        if (!ReadDescriptor(newSs, out slo, out shi, out saddr))
        {
            if (_faultVector == ExceptionGp)
            {
                // A stack selector outside the descriptor table is the TSS's fault, not the instruction's.
                _faultVector = ExceptionTs;
                _faultError = newSs & 0xFFFCu;
            }

            return false;
        }

        if ((newSs & 3) != dpl || ((shi >> 13) & 3) != dpl || (shi & (SegmentCache.FlagS | SegmentCache.TypeCode | SegmentCache.TypeWritable)) != (SegmentCache.FlagS | SegmentCache.TypeWritable))
        {
            RaiseFault(ExceptionTs, newSs & 0xFFFCu);
            return false;
        }

        if ((shi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionSs, newSs & 0xFFFCu);
            return false;
        }

        return true;
    }

    /// <summary>Switches to the inner stack read by <see cref="ReadInnerStack"/> once everything was pushed: CPL, SS, ESP.</summary>
    private void EnterInnerStack(ushort newSs, int dpl, uint slo, uint shi, uint saddr, uint sp)
    {
        uint spMask = (shi & SegmentCache.FlagB) != 0 ? 0xFFFF_FFFF : 0xFFFF;
        MarkAccessed(saddr, shi);
        _cpl = dpl;
        SetSegmentCache(SegSs, (ushort)((newSs & 0xFFFC) | dpl), DescriptorBase(slo, shi), DescriptorLimit(slo, shi), (shi & SegmentCache.FlagsMask) | SegmentCache.TypeAccessed);
        _gpr[RegEsp] = (_gpr[RegEsp] & ~spMask) | (sp & spMask);
    }

    /// <summary>Pushes one value during interrupt delivery (supervisor access).</summary>
    private void Push(uint ssBase, ref uint sp, uint mask, int size, uint value)
    {
        sp -= (uint)size;
        WriteSys(ssBase + (sp & mask), size, value);
    }

    /// <summary>SS:ESP for privilege level <paramref name="dpl"/> from the current TSS (16- or 32-bit).</summary>
    private bool ReadTssStack(int dpl, out ushort ss, out uint esp)
    {
        ss = 0;
        esp = 0;
        int type = (int)((_tr.Flags >> 8) & 0xF);
        bool tss32 = (type & 8) != 0;
        uint entry = tss32 ? (uint)dpl * 8 + 4 : (uint)dpl * 4 + 2;
        uint size = tss32 ? 8u : 4u;
        if ((_tr.Flags & SegmentCache.FlagP) == 0 || entry + size - 1 > _tr.Limit)
        {
            RaiseFault(ExceptionTs, _tr.Selector & 0xFFFCu);
            return false;
        }

        if (tss32)
        {
            esp = ReadSys(_tr.Base + entry, 4);
            ss = (ushort)ReadSys(_tr.Base + entry + 4, 2);
        }
        else
        {
            esp = ReadSys(_tr.Base + entry, 2);
            ss = (ushort)ReadSys(_tr.Base + entry + 2, 2);
        }

        return _faultVector < 0;
    }
}
