namespace Emu.Machine.Devices.Keyboard;

/// <summary>The 8042 and its PS/2 keyboard as one migrated section (QEMU "pckbd" with "ps2kbd" folded in).</summary>
public sealed record I8042State
{
    /// <summary>The controller command byte (QEMU's "mode").</summary>
    public byte Mode { get; init; } = I8042.PostMode;

    public byte Status { get; init; } = I8042.PostStatus;

    public byte Outport { get; init; } = I8042.PostOutport;

    /// <summary>A controller command waiting for its data byte on port 0x60, or 0.</summary>
    public byte WriteCmd { get; init; }

    /// <summary>The output buffer (what port 0x60 reads).</summary>
    public byte ObData { get; init; }

    public ImmutableBytes ControllerQueue { get; init; } = ImmutableBytes.Zero(I8042.ControllerQueueSize);

    public byte ControllerQueueCount { get; init; }

    /// <summary>A set 2 break prefix (F0) swallowed by translation, to be folded into the next byte.</summary>
    public bool TranslateBreak { get; init; }

    public ImmutableBytes KeyboardQueue { get; init; } = ImmutableBytes.Zero(Ps2Keyboard.QueueSize);

    public byte KeyboardQueueCount { get; init; }

    public byte KeyboardPendingCommand { get; init; }

    public byte ScancodeSet { get; init; } = 2;

    public bool ScanEnabled { get; init; } = true;

    public byte Leds { get; init; }
}
