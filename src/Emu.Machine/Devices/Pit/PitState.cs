namespace Emu.Machine.Devices.Pit;

/// <summary>The 8254's migrated state: its three counters (QEMU vmstate_pit_common).</summary>
public sealed record PitState
{
    public PitChannelState Channel0 { get; init; } = new();

    public PitChannelState Channel1 { get; init; } = new();

    public PitChannelState Channel2 { get; init; } = new();
}
