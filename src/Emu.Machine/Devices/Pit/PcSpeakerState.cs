namespace Emu.Machine.Devices.Pit;

/// <summary>Port 0x61's own migrated state (QEMU vmstate_spk "pcspk"): the speaker data bit.</summary>
public sealed record PcSpeakerState
{
    public bool DataOn { get; init; }
}
