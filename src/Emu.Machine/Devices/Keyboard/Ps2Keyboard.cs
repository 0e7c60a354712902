namespace Emu.Machine.Devices.Keyboard;

/// <summary>
/// The PS/2 keyboard behind the 8042 (QEMU hw/input/ps2.c): its command set (reset, enable/disable scanning,
/// LEDs, scan code set, identify, typematic) and its output queue of make/break codes. Not thread-safe: the
/// <see cref="I8042"/> lock covers it.
/// </summary>
internal sealed class Ps2Keyboard
{
    /// <summary>QEMU PS2_QUEUE_SIZE.</summary>
    public const int QueueSize = 16;

    public const byte ReplyAck = 0xFA;
    public const byte ReplyResend = 0xFE;
    public const byte ReplyBatOk = 0xAA;
    public const byte ReplyEcho = 0xEE;
    public const byte ReplyId = 0xAB;

    internal const byte CmdSetLeds = 0xED;
    internal const byte CmdEcho = 0xEE;
    internal const byte CmdScancode = 0xF0;
    internal const byte CmdGetId = 0xF2;
    internal const byte CmdSetRate = 0xF3;
    internal const byte CmdEnable = 0xF4;
    internal const byte CmdResetDisable = 0xF5;
    internal const byte CmdResetEnable = 0xF6;
    internal const byte CmdReset = 0xFF;

    public Fifo8 Queue { get; } = new(QueueSize);

    /// <summary>A command waiting for its parameter byte (0xED, 0xF0, 0xF3), or 0.</summary>
    public byte PendingCommand { get; set; }

    public byte ScancodeSet { get; set; } = 2;

    public bool ScanEnabled { get; set; } = true;

    public byte Leds { get; set; }

    public static bool IsParameterCommand(byte command) => command is 0 or CmdSetLeds or CmdScancode or CmdSetRate;

    /// <summary>QEMU ps2_reset_keyboard: set 2, scanning on, LEDs off, queue empty.</summary>
    public void Reset()
    {
        Queue.Clear();
        PendingCommand = 0;
        ScancodeSet = 2;
        ScanEnabled = true;
        Leds = 0;
    }

    /// <summary>QEMU ps2_write_keyboard: a byte the host sent through port 0x60.</summary>
    public void Write(byte value)
    {
        if (PendingCommand != 0)
        {
            WriteParameter(value);
            return;
        }

        switch (value)
        {
            case CmdSetLeds:
            case CmdScancode:
            case CmdSetRate:
                PendingCommand = value;
                Put(ReplyAck);
                break;
            case CmdEcho:
                Put(ReplyEcho);
                break;
            case CmdGetId:
                // A translating 8042 turns the second ID byte 0x83 into 0x41, as QEMU sends it.
                Put(ReplyAck);
                Put(ReplyId);
                Put(0x83);
                break;
            case CmdEnable:
                ScanEnabled = true;
                Put(ReplyAck);
                break;
            case CmdResetDisable:
                Reset();
                ScanEnabled = false;
                Put(ReplyAck);
                break;
            case CmdResetEnable:
                Reset();
                Put(ReplyAck);
                break;
            case CmdReset:
                Reset();
                Put(ReplyAck);
                Put(ReplyBatOk);
                break;
            default:
                // QEMU acknowledges commands it does not implement (set 3 key types, typematic variants).
                Put(ReplyAck);
                break;
        }
    }

    /// <summary>A key as the display reports it (set 1 make code, E0 prefix flag), in the keyboard's current set.</summary>
    public void KeyEvent(int set1Scancode, bool extended, bool down)
    {
        if (!ScanEnabled || (uint)set1Scancode > 0x7F)
        {
            return;
        }

        Span<byte> codes = stackalloc byte[3];
        int n = 0;
        if (extended)
        {
            codes[n++] = 0xE0;
        }

        if (ScancodeSet == 1)
        {
            codes[n++] = (byte)(set1Scancode | (down ? 0 : 0x80));
        }
        else
        {
            // Set 3 is accepted by F0 but sends set 2 codes (its key types are not emulated).
            byte code = ScancodeTranslation.ToSet2(set1Scancode);
            if (code == 0)
            {
                return;
            }

            if (!down)
            {
                codes[n++] = 0xF0;
            }

            codes[n++] = code;
        }

        // A key that does not fit whole is dropped, as a full keyboard buffer does.
        if (Queue.Free < n)
        {
            return;
        }

        foreach (byte b in codes[..n])
        {
            Queue.Push(b);
        }
    }

    private void WriteParameter(byte value)
    {
        byte command = PendingCommand;
        PendingCommand = 0;
        switch (command)
        {
            case CmdSetLeds:
                Leds = (byte)(value & 7);
                Put(ReplyAck);
                break;
            case CmdScancode:
                if (value == 0)
                {
                    Put(ReplyAck);
                    Put(ScancodeSet);
                }
                else if (value <= 3)
                {
                    ScancodeSet = value;
                    Put(ReplyAck);
                }
                else
                {
                    Put(ReplyResend);
                }

                break;
            default:
                Put(ReplyAck);
                break;
        }
    }

    private void Put(byte value)
    {
        if (!Queue.IsFull)
        {
            Queue.Push(value);
        }
    }
}
