using Emu.Machine.Io;
using Emu.Machine.State;
using Serilog;

namespace Emu.Machine.Devices.Pic;

/// <summary>
/// One Intel 8259A, as QEMU's hw/intc/i8259.c: ICW1–4, OCW1–3, edge triggering with level tracking
/// (<c>last_irr</c>), level triggering where the ELCR says so, rotation and special mask. Every method that
/// touches the registers runs under the owning <see cref="PicPair"/>'s lock.
/// </summary>
public sealed class Pic8259 : IIoDevice, IVmState<PicState>
{
    public static readonly VmStateDescription<PicState> StateDescription = new(
        "i8259", version: 1, minimumVersion: 1, () => new PicState(),
        [
            VmField.U8<PicState>("last_irr", s => s.LastIrr, (s, v) => s with { LastIrr = v }),
            VmField.U8<PicState>("irr", s => s.Irr, (s, v) => s with { Irr = v }),
            VmField.U8<PicState>("imr", s => s.Imr, (s, v) => s with { Imr = v }),
            VmField.U8<PicState>("isr", s => s.Isr, (s, v) => s with { Isr = v }),
            VmField.U8<PicState>("priority_add", s => s.PriorityAdd, (s, v) => s with { PriorityAdd = v }),
            VmField.U8<PicState>("irq_base", s => s.IrqBase, (s, v) => s with { IrqBase = v }),
            VmField.Bool<PicState>("read_reg_select", s => s.ReadRegSelect, (s, v) => s with { ReadRegSelect = v }),
            VmField.Bool<PicState>("poll", s => s.Poll, (s, v) => s with { Poll = v }),
            VmField.Bool<PicState>("special_mask", s => s.SpecialMask, (s, v) => s with { SpecialMask = v }),
            VmField.U8<PicState>("init_state", s => s.InitState, (s, v) => s with { InitState = v }),
            VmField.Bool<PicState>("auto_eoi", s => s.AutoEoi, (s, v) => s with { AutoEoi = v }),
            VmField.Bool<PicState>("rotate_on_auto_eoi", s => s.RotateOnAutoEoi, (s, v) => s with { RotateOnAutoEoi = v }),
            VmField.Bool<PicState>("special_fully_nested_mode", s => s.SpecialFullyNestedMode, (s, v) => s with { SpecialFullyNestedMode = v }),
            VmField.Bool<PicState>("init4", s => s.Init4, (s, v) => s with { Init4 = v }),
            VmField.Bool<PicState>("single_mode", s => s.SingleMode, (s, v) => s with { SingleMode = v }),
            VmField.U8<PicState>("elcr", s => s.Elcr, (s, v) => s with { Elcr = v }),
        ],
        validate: Validate);

    internal static readonly ILogger Log = Serilog.Log.ForContext<Pic8259>();

    private readonly PicPair _pair;
    private readonly bool _isMaster;
    private readonly byte _elcrMask;

    private byte _lastIrr;
    private byte _irr;
    private byte _imr;
    private byte _isr;
    private byte _priorityAdd;
    private byte _irqBase;
    private bool _readRegSelect;
    private bool _poll;
    private bool _specialMask;
    private byte _initState;
    private bool _autoEoi;
    private bool _rotateOnAutoEoi;
    private bool _specialFullyNestedMode;
    private bool _init4;
    private bool _singleMode;
    private byte _elcr;

    internal Pic8259(PicPair pair, bool isMaster)
    {
        _pair = pair;
        _isMaster = isMaster;

        // As QEMU's PC machine: IRQ 0–2 (timer, keyboard, cascade) and IRQ 8 and 13 can never be level triggered.
        _elcrMask = isMaster ? (byte)0xF8 : (byte)0xDE;
        _imr = 0xFF;
    }

    public string SectionName => StateDescription.Name;

    /// <summary>QEMU's instance ids: the master is 0, the slave 1.</summary>
    public int InstanceId => _isMaster ? 0 : 1;

    public VmStateDescription<PicState> Vmsd => StateDescription;

    internal byte Elcr
    {
        get => _elcr;
        set
        {
            _elcr = (byte)(value & _elcrMask);
            UpdateIrq();
        }
    }

    public uint IoRead(ushort port, int size)
    {
        lock (_pair.Lock)
        {
            if (_poll)
            {
                _poll = false;
                return PollRead();
            }

            if ((port & 1) == 0)
            {
                return _readRegSelect ? _isr : _irr;
            }

            return _imr;
        }
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        lock (_pair.Lock)
        {
            if ((port & 1) == 0)
            {
                WriteCommand((byte)value);
            }
            else
            {
                WriteData((byte)value);
            }
        }
    }

    public PicState Save()
    {
        lock (_pair.Lock)
        {
            return new PicState
            {
                LastIrr = _lastIrr,
                Irr = _irr,
                Imr = _imr,
                Isr = _isr,
                PriorityAdd = _priorityAdd,
                IrqBase = _irqBase,
                ReadRegSelect = _readRegSelect,
                Poll = _poll,
                SpecialMask = _specialMask,
                InitState = _initState,
                AutoEoi = _autoEoi,
                RotateOnAutoEoi = _rotateOnAutoEoi,
                SpecialFullyNestedMode = _specialFullyNestedMode,
                Init4 = _init4,
                SingleMode = _singleMode,
                Elcr = _elcr,
            };
        }
    }

    public void Load(PicState state)
    {
        StateCheck.Require(SectionName, Validate(state));
        if ((state.Elcr & ~_elcrMask) != 0)
        {
            StateCheck.Require(SectionName, $"elcr 0x{state.Elcr:x2} sets bits outside this chip's mask 0x{_elcrMask:x2}");
        }

        lock (_pair.Lock)
        {
            _lastIrr = state.LastIrr;
            _irr = state.Irr;
            _imr = state.Imr;
            _isr = state.Isr;
            _priorityAdd = state.PriorityAdd;
            _irqBase = state.IrqBase;
            _readRegSelect = state.ReadRegSelect;
            _poll = state.Poll;
            _specialMask = state.SpecialMask;
            _initState = state.InitState;
            _autoEoi = state.AutoEoi;
            _rotateOnAutoEoi = state.RotateOnAutoEoi;
            _specialFullyNestedMode = state.SpecialFullyNestedMode;
            _init4 = state.Init4;
            _singleMode = state.SingleMode;
            _elcr = state.Elcr;

            // Post-load touches only this chip: the master's INTR is recomputed, the cascade line is not replayed.
            _pair.RecomputeIntr();
        }
    }

    /// <summary>QEMU pic_set_irq: latch an edge (or follow a level) on input <paramref name="irq"/> (0–7).</summary>
    internal void SetIrqLine(int irq, bool level)
    {
        int mask = 1 << irq;
        if ((_elcr & mask) != 0)
        {
            if (level)
            {
                _irr |= (byte)mask;
                _lastIrr |= (byte)mask;
            }
            else
            {
                _irr &= (byte)~mask;
                _lastIrr &= (byte)~mask;
            }
        }
        else if (level)
        {
            if ((_lastIrr & mask) == 0)
            {
                _irr |= (byte)mask;
            }

            _lastIrr |= (byte)mask;
        }
        else
        {
            _lastIrr &= (byte)~mask;
        }

        UpdateIrq();
    }

    /// <summary>QEMU pic_get_irq: the highest-priority request that beats everything in service, or -1.</summary>
    internal int GetIrq()
    {
        int priority = GetPriority(_irr & ~_imr);
        if (priority == 8)
        {
            return -1;
        }

        int mask = _isr;
        if (_specialMask)
        {
            mask &= ~_imr;
        }

        if (_specialFullyNestedMode && _isMaster)
        {
            // In SFNM the cascade input may interrupt while a slave request is in service.
            mask &= ~(1 << 2);
        }

        int current = GetPriority(mask);
        return priority < current ? (priority + _priorityAdd) & 7 : -1;
    }

    /// <summary>QEMU pic_intack: the INTA cycle for <paramref name="irq"/>.</summary>
    internal void Intack(int irq)
    {
        if (_autoEoi)
        {
            if (_rotateOnAutoEoi)
            {
                _priorityAdd = (byte)((irq + 1) & 7);
            }
        }
        else
        {
            _isr |= (byte)(1 << irq);
        }

        // A level-triggered request stays in IRR until the device drops it.
        if ((_elcr & (1 << irq)) == 0)
        {
            _irr &= (byte)~(1 << irq);
        }

        UpdateIrq();
    }

    internal int Vector(int irq) => _irqBase + irq;

    /// <summary>
    /// Power-on: as ICW1 leaves it, but with every line masked. A chip nobody has initialised has no vector base to
    /// give, so it must not interrupt (Bochs masks at reset as well); ICW1 clears the mask as the 8259A's data sheet says.
    /// </summary>
    internal void Reset()
    {
        InitReset();
        _imr = 0xFF;
        _elcr = 0;
        UpdateIrq();
    }

    private static string? Validate(PicState s)
    {
        if (s.InitState > 3)
        {
            return $"init_state {s.InitState} is out of range, expected 0 to 3";
        }

        if (s.PriorityAdd > 7)
        {
            return $"priority_add {s.PriorityAdd} is out of range, expected 0 to 7";
        }

        if ((s.IrqBase & 7) != 0)
        {
            return $"irq_base 0x{s.IrqBase:x2} is not a multiple of 8";
        }

        return null;
    }

    /// <summary>QEMU get_priority: 0 is the highest, 8 means none, relative to the rotation base.</summary>
    private int GetPriority(int mask)
    {
        if ((mask & 0xFF) == 0)
        {
            return 8;
        }

        int priority = 0;
        while ((mask & (1 << ((priority + _priorityAdd) & 7))) == 0)
        {
            priority++;
        }

        return priority;
    }

    /// <summary>The chip's INT output drives the master's IRQ 2 (slave) or the CPU's INTR (master).</summary>
    private void UpdateIrq()
    {
        bool output = GetIrq() >= 0;
        if (_isMaster)
        {
            _pair.RecomputeIntr();
        }
        else
        {
            _pair.Master.SetIrqLine(2, output);
        }
    }

    private void InitReset()
    {
        _lastIrr = 0;
        _irr &= _elcr;
        _imr = 0;
        _isr = 0;
        _priorityAdd = 0;
        _irqBase = 0;
        _readRegSelect = false;
        _poll = false;
        _specialMask = false;
        _initState = 0;
        _autoEoi = false;
        _rotateOnAutoEoi = false;
        _specialFullyNestedMode = false;
        _init4 = false;
        _singleMode = false;
    }

    /// <summary>QEMU pic_ioport_write, address 0: ICW1, OCW2 or OCW3.</summary>
    private void WriteCommand(byte value)
    {
        if ((value & 0x10) != 0)
        {
            // ICW1. The ELCR, not the LTIM bit, decides triggering on a PC (as QEMU).
            InitReset();
            _initState = 1;
            _init4 = (value & 1) != 0;
            _singleMode = (value & 2) != 0;
            UpdateIrq();
            return;
        }

        if ((value & 0x08) != 0)
        {
            // OCW3.
            if ((value & 0x04) != 0)
            {
                _poll = true;
            }

            if ((value & 0x02) != 0)
            {
                _readRegSelect = (value & 1) != 0;
            }

            if ((value & 0x40) != 0)
            {
                _specialMask = ((value >> 5) & 1) != 0;
                UpdateIrq();
            }

            return;
        }

        // OCW2.
        int cmd = value >> 5;
        switch (cmd)
        {
            case 0:
            case 4:
                _rotateOnAutoEoi = cmd == 4;
                break;
            case 1:
            case 5:
                {
                    // Non-specific EOI (5: and rotate).
                    int priority = GetPriority(_isr);
                    if (priority != 8)
                    {
                        int irq = (priority + _priorityAdd) & 7;
                        _isr &= (byte)~(1 << irq);
                        if (cmd == 5)
                        {
                            _priorityAdd = (byte)((irq + 1) & 7);
                        }

                        UpdateIrq();
                    }

                    break;
                }

            case 3:
                _isr &= (byte)~(1 << (value & 7));
                UpdateIrq();
                break;
            case 6:
                _priorityAdd = (byte)((value + 1) & 7);
                UpdateIrq();
                break;
            case 7:
                {
                    int irq = value & 7;
                    _isr &= (byte)~(1 << irq);
                    _priorityAdd = (byte)((irq + 1) & 7);
                    UpdateIrq();
                    break;
                }

            default:
                // cmd 2 is a no-op by definition.
                break;
        }
    }

    /// <summary>QEMU pic_ioport_write, address 1: OCW1 (IMR) or ICW2–4.</summary>
    private void WriteData(byte value)
    {
        switch (_initState)
        {
            case 0:
                _imr = value;
                UpdateIrq();
                break;
            case 1:
                _irqBase = (byte)(value & 0xF8);
                _initState = _singleMode ? (_init4 ? (byte)3 : (byte)0) : (byte)2;
                break;
            case 2:
                // ICW3: the cascade wiring is fixed on a PC (slave on IRQ 2).
                _initState = _init4 ? (byte)3 : (byte)0;
                break;
            default:
                _specialFullyNestedMode = ((value >> 4) & 1) != 0;
                _autoEoi = ((value >> 1) & 1) != 0;
                if ((value & 1) == 0)
                {
                    Log.Debug("pic: ICW4 {Value:x2} asks for MCS-80/85 mode, only 8086 mode exists", value);
                }

                _initState = 0;
                break;
        }
    }

    /// <summary>QEMU pic_poll_read: poll mode acknowledges the request and reads 0x80 | irq.</summary>
    private uint PollRead()
    {
        int irq = GetIrq();
        if (irq < 0)
        {
            return 0;
        }

        Intack(irq);
        return (uint)(irq | 0x80);
    }
}
