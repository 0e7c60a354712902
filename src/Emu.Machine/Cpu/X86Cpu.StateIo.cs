using Emu.Machine.Cpu.State;

namespace Emu.Machine.Cpu;

/// <summary>Save and load of <see cref="CpuState"/> (QEMU cpu_pre_save / cpu_post_load).</summary>
public sealed partial class X86Cpu
{
    public CpuState Save()
    {
        var sel = new ushort[6];
        var bases = new uint[6];
        var limits = new uint[6];
        var flags = new uint[6];
        for (int i = 0; i < 6; i++)
        {
            sel[i] = _seg[i].Selector;
            bases[i] = _seg[i].Base;
            limits[i] = _seg[i].Limit;
            flags[i] = _seg[i].Flags;
        }

        var fpr = new ulong[8];
        for (int i = 0; i < 8; i++)
        {
            fpr[i] = BitConverter.DoubleToUInt64Bits(_fpr[i]);
        }

        return new CpuState
        {
            Gpr = _gpr.AsSpan(0, 8).ToArray(),
            Eip = _eip,
            Eflags = GetEflags(),
            SegSelector = sel,
            SegBase = bases,
            SegLimit = limits,
            SegFlags = flags,
            LdtrSelector = _ldtr.Selector,
            LdtrBase = _ldtr.Base,
            LdtrLimit = _ldtr.Limit,
            LdtrFlags = _ldtr.Flags,
            TrSelector = _tr.Selector,
            TrBase = _tr.Base,
            TrLimit = _tr.Limit,
            TrFlags = _tr.Flags,
            GdtrBase = _gdtBase,
            GdtrLimit = _gdtLimit,
            IdtrBase = _idtBase,
            IdtrLimit = _idtLimit,
            Cr0 = _cr0,
            Cr2 = _cr2,
            Cr3 = _cr3,
            Cr4 = _cr4,
            Dr = (uint[])_dr.Clone(),
            Efer = _efer,
            TscOffset = _tscOffset,
            ApicBase = _apicBase,
            InstructionsRetired = _retired,
            Halted = _halted,
            PendingNmi = _pendingNmi,
            NmiBlocked = _nmiBlocked,
            InterruptShadow = _inhibitUntil > _retired || _shadowRequested,
            FpuControl = _fpuControl,
            FpuStatus = _fpuStatus,
            FpuTag = _fpuTag,
            FpuRegs = fpr,
        };
    }

    /// <summary>Applies a validated state (the description's validate ran during parsing) and drops all caches.</summary>
    public void Load(CpuState state)
    {
        string? problem = CpuState.Validate(state);
        if (problem != null)
        {
            throw new Emu.Machine.State.VmStateException($"state: 'cpu': {problem}");
        }

        Array.Copy(state.Gpr, _gpr, 8);
        _eip = state.Eip;
        _eflags = state.Eflags | 2;
        _ccOp = CcOp.Eflags;
        _cr0 = state.Cr0;
        _cr2 = state.Cr2;
        _cr3 = state.Cr3;
        _cr4 = state.Cr4;
        bool pm = (_cr0 & Cr0Pe) != 0;
        bool vm = (_eflags & FlagVm) != 0;
        for (int i = 0; i < 6; i++)
        {
            ref SegmentCache s = ref _seg[i];
            s.Selector = state.SegSelector[i];
            s.Base = state.SegBase[i];
            s.Limit = state.SegLimit[i];
            s.Flags = state.SegFlags[i];
            s.Refresh(usable: !pm || vm || i == SegCs || (s.Selector & 0xFFFC) != 0, protectedMode: pm);
        }

        _ldtr = new SegmentCache { Selector = state.LdtrSelector, Base = state.LdtrBase, Limit = state.LdtrLimit, Flags = state.LdtrFlags };
        _tr = new SegmentCache { Selector = state.TrSelector, Base = state.TrBase, Limit = state.TrLimit, Flags = state.TrFlags };
        _gdtBase = state.GdtrBase;
        _gdtLimit = state.GdtrLimit;
        _idtBase = state.IdtrBase;
        _idtLimit = state.IdtrLimit;
        Array.Copy(state.Dr, _dr, 8);
        _efer = state.Efer;
        _tscOffset = state.TscOffset;
        _apicBase = state.ApicBase;
        _localApic?.ApicBaseChanged(_apicBase);
        _retired = state.InstructionsRetired;
        _halted = state.Halted;
        _pendingNmi = state.PendingNmi;
        _nmiBlocked = state.NmiBlocked;
        _inhibitUntil = state.InterruptShadow ? _retired + 1 : 0;
        _shadowRequested = false;
        _fpuControl = state.FpuControl;
        _fpuStatus = state.FpuStatus;
        _fpuTag = state.FpuTag;
        for (int i = 0; i < 8; i++)
        {
            _fpr[i] = BitConverter.UInt64BitsToDouble(state.FpuRegs[i]);
        }

        // CPL is SS.DPL in protected mode (as QEMU's hflags), 3 in virtual-8086 mode.
        _cpl = !pm ? 0 : vm ? 3 : _seg[SegSs].Dpl;
        _faultVector = -1;
        _shutdownReason = null;
        UpdateMode();
        FlushCaches();
    }
}
