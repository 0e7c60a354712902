using Emu.Machine.Board;
using Emu.Machine.Memory;
using Emu.Machine.State;
using Serilog;

namespace Emu.Machine.Devices.Apic;

/// <summary>
/// A P6-class local xAPIC (QEMU hw/intc/apic.c, Intel SDM vol. 3 ch. 10): ID, version, TPR/PPR, EOI, SVR, the
/// ISR/TMR/IRR, the error register, the ICR for IPIs this APIC can deliver (to itself), the six LVT entries and
/// the timer on the virtual clock. LINT0 carries the 8259 pair's INTR as ExtINT, as on a PC in virtual-wire mode;
/// LINT1 is the NMI input. Everything runs on the vCPU thread (MMIO, timer callbacks, acknowledge); only the 8259's
/// INTR, which it reads through, changes on other threads.
/// </summary>
/// <remarks>
/// Designed for one APIC per vCPU: the register window is mapped by the APIC of the vCPU using it, which with one
/// vCPU is this one; delivery to other APICs (and an IOAPIC) needs a bus between them and comes with SMP.
/// </remarks>
public sealed partial class LocalApic : ILocalApic, IMmioDevice, IVmState<LocalApicState>
{
    private static readonly ILogger Log = Serilog.Log.ForContext<LocalApic>();

    private readonly AddressSpace _memory;
    private readonly IInterruptController _lint0;
    private readonly byte _apicId;
    private readonly uint[] _lvt = new uint[ApicRegister.LvtCount];

    private MemoryRegion? _window;
    private ulong _base;
    private byte _id;
    private byte _arbId;
    private byte _tpr;
    private uint _svr;
    private byte _ldr;
    private byte _dfr;
    private ApicVectorSet _isr;
    private ApicVectorSet _tmr;
    private ApicVectorSet _irr;
    private uint _esr;
    private uint _esrPending;
    private uint _icrLow;
    private uint _icrHigh;
    private bool _lint1Level;
    private bool _loggedUnsupportedIpi;

    /// <summary>A fixed interrupt in the IRR outranks the processor priority: INTR is up.</summary>
    private bool _fixedPending;

    /// <summary>LINT0 passes the 8259's INTR through (QEMU apic_accept_pic_intr).</summary>
    private bool _picRouted = true;

    public LocalApic(byte apicId, VirtualClock clock, IInterruptController lint0, AddressSpace memory)
    {
        _apicId = apicId;
        _clock = clock;
        _lint0 = lint0;
        _memory = memory;
        _timer = clock.CreateTimer("apic", _ => TimerExpired());
        Reset();
    }

    /// <summary>The CPU's NMI input: raised by an NMI IPI or an LVT entry in NMI mode (LINT1).</summary>
    public Action? NmiRaised { get; set; }

    public string SectionName => LocalApicState.Vmsd.Name;

    public int InstanceId => _apicId;

    public VmStateDescription<LocalApicState> Vmsd => LocalApicState.Vmsd;

    public bool HasPendingInterrupt => _fixedPending || (_picRouted && _lint0.HasPendingInterrupt);

    /// <summary>INTA: the highest fixed interrupt above the processor priority, else the 8259's vector (ExtINT).</summary>
    public int AcknowledgeInterrupt()
    {
        if (_fixedPending)
        {
            int vector = _irr.Highest();
            _irr.Clear(vector);
            _isr.Set(vector);
            UpdateFixedPending();
            return vector;
        }

        return _picRouted ? _lint0.AcknowledgeInterrupt() : (int)(_svr & 0xFF);
    }

    private bool GloballyEnabled => (_base & ApicRegister.BaseEnable) != 0;

    private bool SoftwareEnabled => (_svr & ApicRegister.SvrEnabled) != 0;

    /// <summary>Power-on and INIT state (QEMU apic_reset_common): software-disabled, every LVT masked but the BSP's LINT0.</summary>
    public void Reset()
    {
        _id = _arbId = _apicId;
        _tpr = 0;
        _svr = 0xFF;
        _ldr = 0;
        _dfr = 0xF;
        _isr = _tmr = _irr = default;
        Array.Fill(_lvt, ApicRegister.LvtMasked);

        // As QEMU: the BSP's LINT0 starts as ExtINT, so the 8259 reaches a CPU no firmware has set up (Linux or a
        // multiboot kernel loaded with -kernel); firmware programs virtual-wire mode explicitly anyway.
        if (_apicId == 0)
        {
            _lvt[ApicRegister.LvtIndexLint0] = ApicRegister.ModeExtInt << 8;
        }

        _esr = _esrPending = 0;
        _icrLow = _icrHigh = 0;
        _lint1Level = false;
        ResetTimer();
        UpdatePicRouting();
        UpdateFixedPending();
    }

    public void ApicBaseChanged(ulong apicBase)
    {
        _base = apicBase;
        ulong address = apicBase & ApicRegister.BaseAddressMask;
        if (_window != null && (!GloballyEnabled || _window.Gpa != address))
        {
            _memory.Remove(_window);
            _window = null;
        }

        if (GloballyEnabled && _window == null)
        {
            _window = _memory.AddMmio("apic", address, 0x1000, this, priority: 2);
        }

        if (!GloballyEnabled)
        {
            // Globally disabled, the APIC is off until reset: the 8259 drives INTR directly.
            _svr &= ~ApicRegister.SvrEnabled;
        }

        UpdatePicRouting();
        UpdateFixedPending();
    }

    /// <summary>The LINT1 pin (the PC's NMI line): a rising edge delivers through its LVT entry.</summary>
    public void SetLint1(bool level)
    {
        bool rising = level && !_lint1Level;
        _lint1Level = level;
        if (rising)
        {
            DeliverLocal(ApicRegister.LvtIndexLint1);
        }
    }

    public ulong MmioRead(ulong offset, int size)
    {
        uint value = ReadRegister((int)(offset & 0xFF0));
        return (value >> (int)(8 * (offset & 3))) & (size >= 4 ? 0xFFFF_FFFFu : (1u << (8 * size)) - 1);
    }

    public void MmioWrite(ulong offset, int size, ulong value)
    {
        // The registers take aligned 32-bit writes; narrower ones are ignored, as QEMU does.
        if (size < 4 || (offset & 0xF) != 0)
        {
            return;
        }

        WriteRegister((int)(offset & 0xFF0), (uint)value);
    }

    private uint ReadRegister(int reg)
    {
        switch (reg)
        {
            case ApicRegister.Id: return (uint)_id << 24;
            case ApicRegister.Version: return ApicRegister.VersionValue;
            case ApicRegister.Tpr: return _tpr;
            case ApicRegister.Apr: return 0;
            case ApicRegister.Ppr: return ProcessorPriority();
            case ApicRegister.Ldr: return (uint)_ldr << 24;
            case ApicRegister.Dfr: return ((uint)_dfr << 28) | 0x0FFF_FFFF;
            case ApicRegister.Svr: return _svr;
            case >= ApicRegister.Isr and < ApicRegister.Tmr: return _isr.Register((reg - ApicRegister.Isr) >> 4);
            case >= ApicRegister.Tmr and < ApicRegister.Irr: return _tmr.Register((reg - ApicRegister.Tmr) >> 4);
            case >= ApicRegister.Irr and < ApicRegister.Esr: return _irr.Register((reg - ApicRegister.Irr) >> 4);
            case ApicRegister.Esr: return _esr;
            case ApicRegister.IcrLow: return _icrLow; // delivery is immediate: the busy bit (12) never shows
            case ApicRegister.IcrHigh: return _icrHigh;
            case >= ApicRegister.LvtTimer and <= ApicRegister.LvtError: return _lvt[(reg - ApicRegister.LvtTimer) >> 4];
            case ApicRegister.TimerInitialCount: return _initialCount;
            case ApicRegister.TimerCurrentCount: return CurrentCount(_clock.NowNs);
            case ApicRegister.TimerDivide: return _divideConfig;
            default: return 0;
        }
    }

    private void WriteRegister(int reg, uint value)
    {
        switch (reg)
        {
            case ApicRegister.Id:
                _id = (byte)(value >> 24);
                break;
            case ApicRegister.Tpr:
                _tpr = (byte)value;
                UpdateFixedPending();
                break;
            case ApicRegister.Eoi:
                EndOfInterrupt();
                break;
            case ApicRegister.Ldr:
                _ldr = (byte)(value >> 24);
                break;
            case ApicRegister.Dfr:
                _dfr = (byte)(value >> 28);
                break;
            case ApicRegister.Svr:
                _svr = value & 0x1FF;
                if (!SoftwareEnabled)
                {
                    // Software-disabling masks every LVT entry (Intel SDM 10.4.7.2).
                    for (int i = 0; i < _lvt.Length; i++)
                    {
                        _lvt[i] |= ApicRegister.LvtMasked;
                    }

                    UpdatePicRouting();
                }

                UpdateFixedPending();
                break;
            case ApicRegister.Esr:
                // A write latches the errors seen since the last one; the register reads them until the next write.
                _esr = _esrPending;
                _esrPending = 0;
                break;
            case ApicRegister.IcrLow:
                _icrLow = value & ~(1u << 12);
                SendInterprocessorInterrupt();
                break;
            case ApicRegister.IcrHigh:
                _icrHigh = value & 0xFF00_0000;
                break;
            case >= ApicRegister.LvtTimer and <= ApicRegister.LvtError:
                WriteLvt((reg - ApicRegister.LvtTimer) >> 4, value);
                break;
            case ApicRegister.TimerInitialCount:
                LoadInitialCount(value);
                break;
            case ApicRegister.TimerDivide:
                SetDivide(value);
                break;
        }
    }

    private void WriteLvt(int index, uint value)
    {
        // Writable: vector, delivery mode (not for the timer), polarity/trigger (LINT only), mask, timer mode.
        uint writable = index switch
        {
            ApicRegister.LvtIndexTimer => 0x300FF,
            ApicRegister.LvtIndexLint0 or ApicRegister.LvtIndexLint1 => 0x1A7FF,
            ApicRegister.LvtIndexError => 0x100FF,
            _ => 0x107FF,
        };
        uint v = (value & writable) | (_lvt[index] & ApicRegister.LvtRemoteIrr);
        if (!SoftwareEnabled)
        {
            v |= ApicRegister.LvtMasked;
        }

        _lvt[index] = v;
        if (index == ApicRegister.LvtIndexTimer)
        {
            UpdateTimer(_clock.NowNs);
        }
        else if (index == ApicRegister.LvtIndexLint0)
        {
            UpdatePicRouting();
        }
    }

    /// <summary>PPR: the TPR, or the class of the highest interrupt in service if that is higher.</summary>
    private uint ProcessorPriority()
    {
        int isrv = Math.Max(_isr.Highest(), 0);
        return (_tpr >> 4) >= (isrv >> 4) ? _tpr : (uint)(isrv & 0xF0);
    }

    private void UpdateFixedPending()
    {
        int irrv = _irr.Highest();
        _fixedPending = irrv >= 0 && GloballyEnabled && SoftwareEnabled && (irrv & 0xF0) > (ProcessorPriority() & 0xF0);
    }

    private void UpdatePicRouting()
    {
        uint lint0 = _lvt[ApicRegister.LvtIndexLint0];
        _picRouted = !GloballyEnabled
            || ((lint0 & ApicRegister.LvtMasked) == 0 && ((lint0 >> 8) & 7) == ApicRegister.ModeExtInt);
    }

    private void EndOfInterrupt()
    {
        int vector = _isr.Highest();
        if (vector >= 0)
        {
            _isr.Clear(vector);
            _tmr.Clear(vector);
        }

        UpdateFixedPending();
    }

    /// <summary>A fixed interrupt arrives: vectors 0–15 are illegal and only set the error register.</summary>
    private void AcceptFixed(int vector, bool level)
    {
        if (vector < 16)
        {
            RecordError(ApicRegister.ErrorReceiveIllegalVector);
            return;
        }

        _irr.Set(vector);
        if (level)
        {
            _tmr.Set(vector);
        }
        else
        {
            _tmr.Clear(vector);
        }

        UpdateFixedPending();
    }

    /// <summary>Delivers through one LVT entry (timer, LINT1, error): fixed or NMI; masked entries do nothing.</summary>
    private void DeliverLocal(int index)
    {
        uint lvt = _lvt[index];
        if ((lvt & ApicRegister.LvtMasked) != 0)
        {
            return;
        }

        switch ((lvt >> 8) & 7)
        {
            case ApicRegister.ModeFixed:
                AcceptFixed((int)(lvt & 0xFF), level: false);
                break;
            case ApicRegister.ModeNmi:
                NmiRaised?.Invoke();
                break;
        }
    }

    private void RecordError(uint bit)
    {
        bool first = (_esrPending & bit) == 0;
        _esrPending |= bit;
        uint lvt = _lvt[ApicRegister.LvtIndexError];
        if (first && (lvt & ApicRegister.LvtMasked) == 0 && (lvt & 0xFF) >= 16)
        {
            AcceptFixed((int)(lvt & 0xFF), level: false);
        }
    }

    /// <summary>
    /// The ICR's message: this APIC delivers the ones addressed to itself (the self shorthand, all-including-self,
    /// or a destination that matches its physical or logical ID). INIT, STARTUP and SMI to itself are not modelled.
    /// </summary>
    private void SendInterprocessorInterrupt()
    {
        uint mode = (_icrLow >> 8) & 7;
        int vector = (int)(_icrLow & 0xFF);
        bool toSelf = ((_icrLow >> 18) & 3) switch
        {
            1 or 2 => true,
            3 => false,
            _ => IsDestination((byte)(_icrHigh >> 24), logical: (_icrLow & (1u << 11)) != 0),
        };

        if ((mode is ApicRegister.ModeFixed or ApicRegister.ModeLowestPriority) && vector < 16)
        {
            RecordError(ApicRegister.ErrorSendIllegalVector);
            return;
        }

        if (!toSelf)
        {
            return;
        }

        switch (mode)
        {
            case ApicRegister.ModeFixed:
            case ApicRegister.ModeLowestPriority:
                AcceptFixed(vector, level: (_icrLow & (1u << 15)) != 0);
                break;
            case ApicRegister.ModeNmi:
                NmiRaised?.Invoke();
                break;
            default:
                if (!_loggedUnsupportedIpi)
                {
                    _loggedUnsupportedIpi = true;
                    Log.Warning("apic {Id}: an IPI with delivery mode {Mode} to itself is ignored", _apicId, mode);
                }

                break;
        }
    }

    private bool IsDestination(byte destination, bool logical)
    {
        if (!logical)
        {
            return destination == 0xFF || destination == _id;
        }

        if (_dfr == 0xF)
        {
            return (destination & _ldr) != 0; // flat model: a bit per APIC
        }

        // Cluster model: the high nibble names the cluster (0xF: all), the low nibble the APICs in it.
        return ((destination >> 4) == 0xF || (destination >> 4) == (_ldr >> 4)) && (destination & _ldr & 0xF) != 0;
    }

    public LocalApicState Save() => new()
    {
        Id = _id,
        ArbId = _arbId,
        Tpr = _tpr,
        SpuriousVector = _svr,
        LogicalDestination = _ldr,
        DestinationMode = _dfr,
        Isr = _isr.ToRegisters(),
        Tmr = _tmr.ToRegisters(),
        Irr = _irr.ToRegisters(),
        Lvt = (uint[])_lvt.Clone(),
        Esr = _esr,
        EsrPending = _esrPending,
        Icr = [_icrLow, _icrHigh],
        DivideConfig = _divideConfig,
        CountShift = _countShift,
        InitialCount = _initialCount,
        InitialCountLoadTime = _initialCountLoadTime,
        NextTime = _nextTime,
        TimerExpiry = _timer.IsArmed ? _timer.DeadlineNs : -1,
    };

    public void Load(LocalApicState state)
    {
        _id = state.Id;
        _arbId = state.ArbId;
        _tpr = state.Tpr;
        _svr = state.SpuriousVector & 0x1FF;
        _ldr = state.LogicalDestination;
        _dfr = (byte)(state.DestinationMode & 0xF);
        _isr = ApicVectorSet.FromRegisters(state.Isr);
        _tmr = ApicVectorSet.FromRegisters(state.Tmr);
        _irr = ApicVectorSet.FromRegisters(state.Irr);
        state.Lvt.CopyTo(_lvt, 0);
        _esr = state.Esr;
        _esrPending = state.EsrPending;
        _icrLow = state.Icr[0];
        _icrHigh = state.Icr[1];
        LoadTimer(state);
        UpdatePicRouting();
        UpdateFixedPending();
    }
}
