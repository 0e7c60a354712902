namespace Emu.Machine.Devices.Pit;

/// <summary>One 8254 counter's migrated state; the fields and their order are QEMU's vmstate_pit_channel.</summary>
public sealed record PitChannelState
{
    /// <summary>The reload value, 1 to 0x10000 (a programmed 0 means 0x10000).</summary>
    public int Count { get; init; } = 0x10000;

    public ushort LatchedCount { get; init; }

    /// <summary>0, or the access mode (1 LSB, 2 MSB, 3 word) the latched count is still to be read in.</summary>
    public byte CountLatched { get; init; }

    public bool StatusLatched { get; init; }

    public byte Status { get; init; }

    /// <summary>1 LSB, 2 MSB, 3 word (low byte next), 4 word (high byte next); 0 before the first control word.</summary>
    public byte ReadState { get; init; }

    public byte WriteState { get; init; }

    public byte WriteLatch { get; init; }

    public byte RwMode { get; init; }

    public byte Mode { get; init; }

    public bool Bcd { get; init; }

    public bool Gate { get; init; }

    /// <summary>Virtual-clock ns at which <see cref="Count"/> was loaded; the counter is computed from it.</summary>
    public long CountLoadTime { get; init; }

    /// <summary>Virtual-clock ns of the output's next change, or -1 (only channel 0 uses it).</summary>
    public long NextTransitionTime { get; init; } = -1;
}
