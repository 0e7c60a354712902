using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Keyboard;

/// <summary>
/// The 8042 keyboard controller at 0x60/0x64 with a PS/2 keyboard on IRQ 1 (QEMU hw/input/pckbd.c). The
/// keyboard speaks scan code set 2; with the command byte's translate bit the controller turns it into set 1,
/// as a PC's does. The display thread calls <see cref="KeyEvent"/>; everything is under one lock.
/// </summary>
/// <remarks>
/// Power-on state is what a PC BIOS leaves after POST (command byte 0x65: keyboard interrupt, system flag,
/// translation, no mouse), so a guest started with <c>-kernel</c> sees set 1 codes as it would after firmware.
/// Output port bit 1 (A20) is kept and readable, but Emu does not emulate the A20 wrap: addresses never alias
/// at 1 MiB. There is no mouse: auxiliary-port commands answer as for an absent device.
/// </remarks>
public sealed class I8042 : IIoDevice, IVmState<I8042State>
{
    public const int ControllerQueueSize = 4;
    public const int Irq = 1;

    internal const byte PostMode = ModeKbdInt | ModeSys | ModeDisableMouse | ModeTranslate;
    internal const byte PostStatus = StatusSys | StatusCmd | StatusUnlocked;
    internal const byte PostOutport = OutportReset | OutportA20 | 0xC0;

    public static readonly VmStateDescription<I8042State> StateDescription = new(
        "pckbd", version: 1, minimumVersion: 1, () => new I8042State(),
        [
            VmField.U8<I8042State>("mode", s => s.Mode, (s, v) => s with { Mode = v }),
            VmField.U8<I8042State>("status", s => s.Status, (s, v) => s with { Status = v }),
            VmField.U8<I8042State>("outport", s => s.Outport, (s, v) => s with { Outport = v }),
            VmField.U8<I8042State>("write_cmd", s => s.WriteCmd, (s, v) => s with { WriteCmd = v }),
            VmField.U8<I8042State>("obdata", s => s.ObData, (s, v) => s with { ObData = v }),
            ImmutableBytes.Field<I8042State>("ctrl_queue", ControllerQueueSize, s => s.ControllerQueue, (s, v) => s with { ControllerQueue = v }),
            VmField.U8<I8042State>("ctrl_queue_count", s => s.ControllerQueueCount, (s, v) => s with { ControllerQueueCount = v }),
            VmField.Bool<I8042State>("translate_break", s => s.TranslateBreak, (s, v) => s with { TranslateBreak = v }),
            ImmutableBytes.Field<I8042State>("kbd_queue", Ps2Keyboard.QueueSize, s => s.KeyboardQueue, (s, v) => s with { KeyboardQueue = v }),
            VmField.U8<I8042State>("kbd_queue_count", s => s.KeyboardQueueCount, (s, v) => s with { KeyboardQueueCount = v }),
            VmField.U8<I8042State>("kbd_pending_command", s => s.KeyboardPendingCommand, (s, v) => s with { KeyboardPendingCommand = v }),
            VmField.U8<I8042State>("scancode_set", s => s.ScancodeSet, (s, v) => s with { ScancodeSet = v }),
            VmField.Bool<I8042State>("scan_enabled", s => s.ScanEnabled, (s, v) => s with { ScanEnabled = v }),
            VmField.U8<I8042State>("ledstate", s => s.Leds, (s, v) => s with { Leds = v }),
        ],
        validate: Validate);

    internal const byte ModeKbdInt = 0x01;
    internal const byte ModeSys = 0x04;
    internal const byte ModeDisableKbd = 0x10;
    internal const byte ModeDisableMouse = 0x20;
    internal const byte ModeTranslate = 0x40;
    internal const byte StatusObf = 0x01;
    internal const byte StatusSys = 0x04;
    internal const byte StatusCmd = 0x08;
    internal const byte StatusUnlocked = 0x10;
    internal const byte OutportReset = 0x01;
    internal const byte OutportA20 = 0x02;

    internal const byte CcmdReadMode = 0x20;
    internal const byte CcmdWriteMode = 0x60;
    internal const byte CcmdMouseDisable = 0xA7;
    internal const byte CcmdMouseEnable = 0xA8;
    internal const byte CcmdTestMouse = 0xA9;
    internal const byte CcmdSelfTest = 0xAA;
    internal const byte CcmdKbdTest = 0xAB;
    internal const byte CcmdKbdDisable = 0xAD;
    internal const byte CcmdKbdEnable = 0xAE;
    internal const byte CcmdReadInport = 0xC0;
    internal const byte CcmdReadOutport = 0xD0;
    internal const byte CcmdWriteOutport = 0xD1;
    internal const byte CcmdWriteObuf = 0xD2;
    internal const byte CcmdWriteAuxObuf = 0xD3;
    internal const byte CcmdWriteMouse = 0xD4;
    internal const byte CcmdDisableA20 = 0xDD;
    internal const byte CcmdEnableA20 = 0xDF;
    internal const byte CcmdReadTestInputs = 0xE0;

    private readonly object _lock = new();
    private readonly IIrqLines _irq;
    private readonly Ps2Keyboard _keyboard = new();
    private readonly Fifo8 _controllerQueue = new(ControllerQueueSize);

    private byte _mode;
    private byte _status;
    private byte _outport;
    private byte _writeCmd;
    private byte _obData;
    private bool _translateBreak;
    private bool _irqLevel;

    public I8042(IIrqLines irq)
    {
        _irq = irq;
        Reset();
    }

    /// <summary>The guest asked for a system reset (command 0xF0–0xFF with bit 0 clear, or output port bit 0 cleared).</summary>
    public Action? ResetRequested { get; set; }

    /// <summary>Output port bit 1 (readable only: Emu does not wrap addresses at 1 MiB).</summary>
    public bool A20Enabled
    {
        get
        {
            lock (_lock)
            {
                return (_outport & OutportA20) != 0;
            }
        }
    }

    public string SectionName => StateDescription.Name;

    public VmStateDescription<I8042State> Vmsd => StateDescription;

    public void Register(IoBus bus)
    {
        bus.Register(0x60, 1, this);
        bus.Register(0x64, 1, this);
    }

    public void Reset()
    {
        lock (_lock)
        {
            ApplyLocked(new I8042State());
            UpdateIrq();
        }
    }

    /// <summary>A key from the display (set 1 make code; <paramref name="extended"/> for E0 keys). Thread-safe.</summary>
    public void KeyEvent(int set1Scancode, bool extended, bool down)
    {
        lock (_lock)
        {
            _keyboard.KeyEvent(set1Scancode, extended, down);
            Service();
        }
    }

    public uint IoRead(ushort port, int size)
    {
        lock (_lock)
        {
            if (port == 0x64)
            {
                return _status;
            }

            // QEMU kbd_read_data: an empty buffer reads the last byte again.
            byte value = _obData;
            if ((_status & StatusObf) != 0)
            {
                _status &= unchecked((byte)~StatusObf);
                UpdateIrq();
                Service();
            }

            return value;
        }
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        Action? reset;
        lock (_lock)
        {
            reset = port == 0x64 ? WriteCommand((byte)value) : WriteData((byte)value);
            Service();
        }

        // Outside the lock: resetting the machine resets this device too.
        reset?.Invoke();
    }

    public I8042State Save()
    {
        lock (_lock)
        {
            return new I8042State
            {
                Mode = _mode,
                Status = _status,
                Outport = _outport,
                WriteCmd = _writeCmd,
                ObData = _obData,
                ControllerQueue = _controllerQueue.Snapshot(),
                ControllerQueueCount = (byte)_controllerQueue.Count,
                TranslateBreak = _translateBreak,
                KeyboardQueue = _keyboard.Queue.Snapshot(),
                KeyboardQueueCount = (byte)_keyboard.Queue.Count,
                KeyboardPendingCommand = _keyboard.PendingCommand,
                ScancodeSet = _keyboard.ScancodeSet,
                ScanEnabled = _keyboard.ScanEnabled,
                Leds = _keyboard.Leds,
            };
        }
    }

    public void Load(I8042State state)
    {
        StateCheck.Require(SectionName, Validate(state));
        lock (_lock)
        {
            ApplyLocked(state);
            _irqLevel = (_status & StatusObf) != 0 && (_mode & ModeKbdInt) != 0;
        }
    }

    private static string? Validate(I8042State s)
    {
        if (s.ControllerQueueCount > ControllerQueueSize || s.KeyboardQueueCount > Ps2Keyboard.QueueSize)
        {
            return $"queue counts {s.ControllerQueueCount}/{s.KeyboardQueueCount} exceed {ControllerQueueSize}/{Ps2Keyboard.QueueSize}";
        }

        if (s.ScancodeSet is < 1 or > 3)
        {
            return $"scancode_set {s.ScancodeSet} is out of range, expected 1 to 3";
        }

        if (!Ps2Keyboard.IsParameterCommand(s.KeyboardPendingCommand))
        {
            return $"kbd_pending_command 0x{s.KeyboardPendingCommand:x2} takes no parameter";
        }

        if (s.WriteCmd is not (0 or CcmdWriteMode or CcmdWriteOutport or CcmdWriteObuf or CcmdWriteAuxObuf or CcmdWriteMouse))
        {
            return $"write_cmd 0x{s.WriteCmd:x2} takes no data byte";
        }

        return null;
    }

    private void ApplyLocked(I8042State s)
    {
        _mode = s.Mode;
        _status = s.Status;
        _outport = s.Outport;
        _writeCmd = s.WriteCmd;
        _obData = s.ObData;
        _controllerQueue.Restore(s.ControllerQueue, s.ControllerQueueCount);
        _translateBreak = s.TranslateBreak;
        _keyboard.Queue.Restore(s.KeyboardQueue, s.KeyboardQueueCount);
        _keyboard.PendingCommand = s.KeyboardPendingCommand;
        _keyboard.ScancodeSet = s.ScancodeSet;
        _keyboard.ScanEnabled = s.ScanEnabled;
        _keyboard.Leds = s.Leds;
    }

    /// <summary>QEMU kbd_write_command. Returns the reset action to run once the lock is released.</summary>
    private Action? WriteCommand(byte value)
    {
        _status |= StatusCmd;
        switch (value)
        {
            case CcmdReadMode:
                Reply(_mode);
                break;
            case CcmdWriteMode:
            case CcmdWriteOutport:
            case CcmdWriteObuf:
            case CcmdWriteAuxObuf:
            case CcmdWriteMouse:
                _writeCmd = value;
                break;
            case CcmdMouseDisable:
                _mode |= ModeDisableMouse;
                break;
            case CcmdMouseEnable:
                _mode &= unchecked((byte)~ModeDisableMouse);
                break;
            case CcmdTestMouse:
            case CcmdKbdTest:
            case CcmdReadTestInputs:
                Reply(0x00);
                break;
            case CcmdSelfTest:
                _status |= StatusSys;
                Reply(0x55);
                break;
            case CcmdKbdDisable:
                _mode |= ModeDisableKbd;
                UpdateIrq();
                break;
            case CcmdKbdEnable:
                _mode &= unchecked((byte)~ModeDisableKbd);
                break;
            case CcmdReadInport:
                Reply(0x80);
                break;
            case CcmdReadOutport:
                Reply(_outport);
                break;
            case CcmdDisableA20:
                _outport &= unchecked((byte)~OutportA20);
                break;
            case CcmdEnableA20:
                _outport |= OutportA20;
                break;
            default:
                // 0xF0–0xFF pulse output port bits 0–3 low; bit 0 low is the CPU reset line.
                if (value >= 0xF0 && (value & 1) == 0)
                {
                    return ResetRequested;
                }

                break;
        }

        return null;
    }

    /// <summary>QEMU kbd_write_data: a data byte for the pending controller command, or for the keyboard.</summary>
    private Action? WriteData(byte value)
    {
        _status &= unchecked((byte)~StatusCmd);
        byte command = _writeCmd;
        _writeCmd = 0;
        switch (command)
        {
            case 0:
                _keyboard.Write(value);

                // Sending to the keyboard re-enables its interface, as QEMU's 8042 does.
                _mode &= unchecked((byte)~ModeDisableKbd);
                break;
            case CcmdWriteMode:
                _mode = value;
                _status = (byte)((_status & ~StatusSys) | (value & ModeSys));
                UpdateIrq();
                break;
            case CcmdWriteObuf:
                Reply(value);
                break;
            case CcmdWriteOutport:
                _outport = value;
                if ((value & OutportReset) == 0)
                {
                    return ResetRequested;
                }

                break;
            default:
                // Mouse and aux-buffer writes: there is no auxiliary device.
                break;
        }

        return null;
    }

    private void Reply(byte value)
    {
        if (!_controllerQueue.IsFull)
        {
            _controllerQueue.Push(value);
        }
    }

    /// <summary>
    /// Fills an empty output buffer: controller replies first, then keyboard bytes unless the keyboard interface is
    /// disabled, translated to set 1 when the command byte asks (a swallowed F0 sets the next byte's bit 7).
    /// </summary>
    private void Service()
    {
        while ((_status & StatusObf) == 0)
        {
            if (!_controllerQueue.IsEmpty)
            {
                Output(_controllerQueue.Pop());
                break;
            }

            if (_keyboard.Queue.IsEmpty || (_mode & ModeDisableKbd) != 0)
            {
                break;
            }

            byte b = _keyboard.Queue.Pop();
            if ((_mode & ModeTranslate) != 0)
            {
                if (b == 0xF0)
                {
                    _translateBreak = true;
                    continue;
                }

                b = (byte)(ScancodeTranslation.ToSet1(b) | (_translateBreak ? 0x80 : 0));
                _translateBreak = false;
            }

            Output(b);
        }

        UpdateIrq();
    }

    private void Output(byte value)
    {
        _obData = value;
        _status |= StatusObf;
    }

    private void UpdateIrq()
    {
        bool level = (_status & StatusObf) != 0 && (_mode & ModeKbdInt) != 0;
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.SetIrq(Irq, level);
        }
    }
}
