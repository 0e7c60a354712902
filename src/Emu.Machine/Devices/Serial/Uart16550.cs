using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Serial;

/// <summary>
/// A 16550A UART (QEMU hw/char/serial.c): RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR and the divisor latch,
/// a 16-byte receive FIFO with trigger levels, THR-empty interrupts and loopback. Output goes to the backend at
/// once, so the transmitter is empty again by the next instruction. Host input (<see cref="Receive"/>, any thread)
/// waits in a host-side queue and enters the FIFO as room appears, as QEMU's chardev flow control does.
/// </summary>
/// <remarks>
/// Character timeout: QEMU raises CTI four character times after the last byte arrived. Host input comes in
/// bursts that are already complete when they reach the UART, so Emu treats a burst that leaves the FIFO below
/// its trigger level as timed out at once.
/// </remarks>
public sealed class Uart16550 : IIoDevice, IVmState<UartState>
{
    public const int FifoSize = 16;

    public static readonly VmStateDescription<UartState> StateDescription = new(
        "serial", version: 1, minimumVersion: 1, () => new UartState(),
        [
            VmField.U16<UartState>("divider", s => s.Divider, (s, v) => s with { Divider = v }),
            VmField.U8<UartState>("rbr", s => s.Rbr, (s, v) => s with { Rbr = v }),
            VmField.U8<UartState>("ier", s => s.Ier, (s, v) => s with { Ier = v }),
            VmField.U8<UartState>("iir", s => s.Iir, (s, v) => s with { Iir = v }),
            VmField.U8<UartState>("lcr", s => s.Lcr, (s, v) => s with { Lcr = v }),
            VmField.U8<UartState>("mcr", s => s.Mcr, (s, v) => s with { Mcr = v }),
            VmField.U8<UartState>("lsr", s => s.Lsr, (s, v) => s with { Lsr = v }),
            VmField.U8<UartState>("msr", s => s.Msr, (s, v) => s with { Msr = v }),
            VmField.U8<UartState>("scr", s => s.Scr, (s, v) => s with { Scr = v }),
            VmField.U8<UartState>("fcr", s => s.Fcr, (s, v) => s with { Fcr = v }),
            VmField.Bool<UartState>("thr_ipending", s => s.ThrIpending, (s, v) => s with { ThrIpending = v }),
            VmField.Bool<UartState>("timeout_ipending", s => s.TimeoutIpending, (s, v) => s with { TimeoutIpending = v }),
            ImmutableBytes.Field<UartState>("recv_fifo", FifoSize, s => s.RxFifo, (s, v) => s with { RxFifo = v }),
            VmField.U8<UartState>("recv_fifo_count", s => s.RxCount, (s, v) => s with { RxCount = v }),
        ],
        validate: Validate);

    internal const byte LcrDlab = 0x80;
    internal const byte IerMask = 0x0F;
    internal const byte IerRdi = 0x01;
    internal const byte IerThri = 0x02;
    internal const byte IerRlsi = 0x04;
    internal const byte IerMsi = 0x08;
    internal const byte IirNoInt = 0x01;
    internal const byte IirId = 0x06;
    internal const byte IirMsi = 0x00;
    internal const byte IirThri = 0x02;
    internal const byte IirRdi = 0x04;
    internal const byte IirRlsi = 0x06;
    internal const byte IirCti = 0x0C;
    internal const byte IirFifoEnabled = 0xC0;
    internal const byte LsrDr = 0x01;
    internal const byte LsrOe = 0x02;
    internal const byte LsrBi = 0x10;
    internal const byte LsrThre = 0x20;
    internal const byte LsrTemt = 0x40;
    internal const byte LsrIntAny = 0x1E;
    internal const byte McrLoop = 0x10;
    internal const byte MsrAnyDelta = 0x0F;
    internal const byte FcrFifoEnable = 0x01;
    internal const byte FcrRxReset = 0x02;
    internal const byte FcrTxReset = 0x04;
    internal const byte FcrWritable = 0xC9;

    private readonly object _lock = new();
    private readonly IIrqLines _irq;
    private readonly int _irqNumber;
    private readonly ICharBackend? _backend;
    private readonly Fifo8 _rx = new(FifoSize);
    private readonly Queue<byte> _hostInput = new();

    private ushort _divider;
    private byte _rbr;
    private byte _ier;
    private byte _iir;
    private byte _lcr;
    private byte _mcr;
    private byte _lsr;
    private byte _msr;
    private byte _scr;
    private byte _fcr;
    private bool _thrIpending;
    private bool _timeoutIpending;
    private bool _irqLevel;

    public Uart16550(IIrqLines irq, int irqNumber, ICharBackend? backend)
    {
        _irq = irq;
        _irqNumber = irqNumber;
        _backend = backend;
        Reset();
    }

    public string SectionName => StateDescription.Name;

    public VmStateDescription<UartState> Vmsd => StateDescription;

    /// <summary>The receive trigger level from FCR bits 6–7: 1, 4, 8 or 14 bytes.</summary>
    private int TriggerLevel => (_fcr >> 6) switch { 0 => 1, 1 => 4, 2 => 8, _ => 14 };

    public void Register(IoBus bus, ushort basePort) => bus.Register(basePort, 8, this);

    /// <summary>QEMU serial_reset.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            ApplyLocked(new UartState());
            _hostInput.Clear();
            UpdateIrq();
        }
    }

    /// <summary>Bytes from the host (the -serial backend's input). Thread-safe; never drops: what does not fit waits.</summary>
    public void Receive(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            foreach (byte b in bytes)
            {
                _hostInput.Enqueue(b);
            }

            PumpHostInput();
        }
    }

    public uint IoRead(ushort port, int size)
    {
        lock (_lock)
        {
            return ReadRegister(port & 7);
        }
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        lock (_lock)
        {
            WriteRegister(port & 7, (byte)value);
        }
    }

    public UartState Save()
    {
        lock (_lock)
        {
            return new UartState
            {
                Divider = _divider,
                Rbr = _rbr,
                Ier = _ier,
                Iir = _iir,
                Lcr = _lcr,
                Mcr = _mcr,
                Lsr = _lsr,
                Msr = _msr,
                Scr = _scr,
                Fcr = _fcr,
                ThrIpending = _thrIpending,
                TimeoutIpending = _timeoutIpending,
                RxFifo = _rx.Snapshot(),
                RxCount = (byte)_rx.Count,
            };
        }
    }

    public void Load(UartState state)
    {
        StateCheck.Require(SectionName, Validate(state));
        lock (_lock)
        {
            ApplyLocked(state);

            // The interrupt line follows the registers; the PIC migrates its own latch.
            _irqLevel = (_iir & IirNoInt) == 0;
        }
    }

    private static string? Validate(UartState s)
    {
        if (s.RxCount > FifoSize)
        {
            return $"recv_fifo_count {s.RxCount} exceeds the FIFO size {FifoSize}";
        }

        if (s.RxFifo.Length != FifoSize)
        {
            return $"recv_fifo holds {s.RxFifo.Length} bytes, expected {FifoSize}";
        }

        if ((s.Ier & ~IerMask) != 0 || (s.Mcr & ~0x1F) != 0 || (s.Fcr & ~FcrWritable) != 0)
        {
            return $"ier 0x{s.Ier:x2}, mcr 0x{s.Mcr:x2} or fcr 0x{s.Fcr:x2} sets reserved bits";
        }

        int id = s.Iir & 0x0F;
        if (id is not (IirNoInt or IirMsi or IirThri or IirRdi or IirRlsi or IirCti))
        {
            return $"iir 0x{s.Iir:x2} holds no interrupt identification a 16550A reports";
        }

        return null;
    }

    private void ApplyLocked(UartState s)
    {
        _divider = s.Divider;
        _rbr = s.Rbr;
        _ier = s.Ier;
        _iir = s.Iir;
        _lcr = s.Lcr;
        _mcr = s.Mcr;
        _lsr = s.Lsr;
        _msr = s.Msr;
        _scr = s.Scr;
        _fcr = s.Fcr;
        _thrIpending = s.ThrIpending;
        _timeoutIpending = s.TimeoutIpending;
        _rx.Restore(s.RxFifo, s.RxCount);
    }

    /// <summary>QEMU serial_ioport_read.</summary>
    private byte ReadRegister(int reg)
    {
        switch (reg)
        {
            case 0:
                if ((_lcr & LcrDlab) != 0)
                {
                    return (byte)_divider;
                }

                return ReadRbr();
            case 1:
                return (_lcr & LcrDlab) != 0 ? (byte)(_divider >> 8) : _ier;
            case 2:
                {
                    byte iir = _iir;

                    // Reading IIR while it reports THR empty acknowledges that interrupt.
                    if ((iir & IirId) == IirThri && (iir & 0x0F) == IirThri)
                    {
                        _thrIpending = false;
                        UpdateIrq();
                    }

                    return iir;
                }

            case 3:
                return _lcr;
            case 4:
                return _mcr;
            case 5:
                {
                    byte lsr = _lsr;
                    if ((_lsr & (LsrBi | LsrOe)) != 0)
                    {
                        _lsr &= unchecked((byte)~(LsrBi | LsrOe));
                        UpdateIrq();
                    }

                    return lsr;
                }

            case 6:
                if ((_mcr & McrLoop) != 0)
                {
                    // In loopback the modem outputs feed the inputs: OUT2→DCD, OUT1→RI, RTS→CTS, DTR→DSR.
                    return (byte)(((_mcr & 0x0C) << 4) | ((_mcr & 0x02) << 3) | ((_mcr & 0x01) << 5));
                }
                else
                {
                    byte msr = _msr;
                    if ((_msr & MsrAnyDelta) != 0)
                    {
                        _msr &= 0xF0;
                        UpdateIrq();
                    }

                    return msr;
                }

            default:
                return _scr;
        }
    }

    private byte ReadRbr()
    {
        byte value;
        if ((_fcr & FcrFifoEnable) != 0)
        {
            value = _rx.IsEmpty ? (byte)0 : _rx.Pop();
            _timeoutIpending = false;
            if (_rx.IsEmpty)
            {
                _lsr &= unchecked((byte)~(LsrDr | LsrBi));
            }
        }
        else
        {
            value = _rbr;
            _lsr &= unchecked((byte)~(LsrDr | LsrBi));
        }

        PumpHostInput();
        UpdateIrq();
        return value;
    }

    /// <summary>QEMU serial_ioport_write.</summary>
    private void WriteRegister(int reg, byte value)
    {
        switch (reg)
        {
            case 0:
                if ((_lcr & LcrDlab) != 0)
                {
                    _divider = (ushort)((_divider & 0xFF00) | value);
                }
                else
                {
                    Transmit(value);
                }

                break;
            case 1:
                if ((_lcr & LcrDlab) != 0)
                {
                    _divider = (ushort)((_divider & 0x00FF) | (value << 8));
                    break;
                }

                {
                    int changed = (_ier ^ value) & IerMask;
                    _ier = (byte)(value & IerMask);
                    if ((changed & IerThri) != 0)
                    {
                        // Enabling THRI while THR is empty raises it even if an IIR read had acknowledged it.
                        _thrIpending = (_ier & IerThri) != 0 && (_lsr & LsrThre) != 0;
                    }

                    if (changed != 0)
                    {
                        UpdateIrq();
                    }
                }

                break;
            case 2:
                WriteFcr(value);
                break;
            case 3:
                _lcr = value;
                break;
            case 4:
                _mcr = (byte)(value & 0x1F);
                break;
            case 5:
            case 6:
                // LSR and MSR are read-only (factory test writes are ignored).
                break;
            default:
                _scr = value;
                break;
        }
    }

    private void WriteFcr(byte value)
    {
        // Toggling the FIFO enable flushes both FIFOs.
        if (((value ^ _fcr) & FcrFifoEnable) != 0)
        {
            value |= FcrRxReset | FcrTxReset;
        }

        if ((value & FcrRxReset) != 0)
        {
            _lsr &= unchecked((byte)~(LsrDr | LsrBi));
            _timeoutIpending = false;
            _rx.Clear();
        }

        if ((value & FcrTxReset) != 0)
        {
            _lsr |= LsrThre;
            _thrIpending = true;
        }

        _fcr = (byte)(value & FcrWritable);
        if ((_fcr & FcrFifoEnable) != 0)
        {
            _iir |= IirFifoEnabled;
        }
        else
        {
            _iir &= unchecked((byte)~IirFifoEnabled);
        }

        PumpHostInput();
        UpdateIrq();
    }

    /// <summary>QEMU serial_xmit with an instant wire: THR empties before the guest can look again.</summary>
    private void Transmit(byte value)
    {
        _thrIpending = false;
        _lsr &= unchecked((byte)~(LsrThre | LsrTemt));
        UpdateIrq();

        if ((_mcr & McrLoop) != 0)
        {
            ReceiveByte(value);
        }
        else
        {
            _backend?.Write([value]);
        }

        _lsr |= LsrThre | LsrTemt;
        _thrIpending = true;
        UpdateIrq();
    }

    /// <summary>Moves waiting host bytes into the receiver while it has room (QEMU serial_can_receive).</summary>
    private void PumpHostInput()
    {
        if (_hostInput.Count == 0 || (_mcr & McrLoop) != 0)
        {
            return;
        }

        bool fifo = (_fcr & FcrFifoEnable) != 0;
        while (_hostInput.Count > 0 && (fifo ? !_rx.IsFull : (_lsr & LsrDr) == 0))
        {
            ReceiveByte(_hostInput.Dequeue());
        }

        if (fifo && !_rx.IsEmpty && _rx.Count < TriggerLevel)
        {
            _timeoutIpending = true;
        }

        UpdateIrq();
    }

    /// <summary>QEMU serial_receive1 for one byte: overrun when there is no room.</summary>
    private void ReceiveByte(byte value)
    {
        if ((_fcr & FcrFifoEnable) != 0)
        {
            if (_rx.IsFull)
            {
                _lsr |= LsrOe;
            }
            else
            {
                _rx.Push(value);
            }
        }
        else
        {
            if ((_lsr & LsrDr) != 0)
            {
                _lsr |= LsrOe;
            }

            _rbr = value;
        }

        _lsr |= LsrDr;
        UpdateIrq();
    }

    /// <summary>QEMU serial_update_irq: the highest-priority enabled source goes into IIR and drives the line.</summary>
    private void UpdateIrq()
    {
        byte id = IirNoInt;
        if ((_ier & IerRlsi) != 0 && (_lsr & LsrIntAny) != 0)
        {
            id = IirRlsi;
        }
        else if ((_ier & IerRdi) != 0 && _timeoutIpending)
        {
            id = IirCti;
        }
        else if ((_ier & IerRdi) != 0 && (_lsr & LsrDr) != 0 &&
                 ((_fcr & FcrFifoEnable) == 0 || _rx.Count >= TriggerLevel))
        {
            id = IirRdi;
        }
        else if ((_ier & IerThri) != 0 && _thrIpending)
        {
            id = IirThri;
        }
        else if ((_ier & IerMsi) != 0 && (_msr & MsrAnyDelta) != 0)
        {
            id = IirMsi;
        }

        _iir = (byte)(id | (_iir & 0xF0));
        bool level = id != IirNoInt;
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.SetIrq(_irqNumber, level);
        }
    }
}
