using Emu.Machine.Board;
using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Pit;

/// <summary>
/// System control port B at 0x61 (QEMU hw/audio/pcspk.c, without the sound): bit 0 gates PIT counter 2,
/// bit 1 enables the speaker data; reads add counter 2's OUT in bit 5 and the DRAM refresh toggle in bit 4.
/// The refresh bit flips every 15.085 µs of virtual time, as a PC's refresh request does, so firmware delay
/// loops that count its edges measure guest time.
/// </summary>
public sealed class PcSpeakerPort : IIoDevice, IVmState<PcSpeakerState>
{
    public static readonly VmStateDescription<PcSpeakerState> StateDescription = new(
        "pcspk", version: 1, minimumVersion: 1, () => new PcSpeakerState(),
        [VmField.Bool<PcSpeakerState>("data_on", s => s.DataOn, (s, v) => s with { DataOn = v })]);

    /// <summary>The refresh request period of a PC's DRAM refresh (channel 1 programmed to 18 ticks).</summary>
    public const long RefreshPeriodNs = 15_085;

    private readonly Pit8254 _pit;
    private readonly VirtualClock _clock;
    private bool _dataOn;

    public PcSpeakerPort(Pit8254 pit, VirtualClock clock)
    {
        _pit = pit;
        _clock = clock;
    }

    public string SectionName => StateDescription.Name;

    public VmStateDescription<PcSpeakerState> Vmsd => StateDescription;

    public void Register(IoBus bus) => bus.Register(0x61, 1, this);

    public uint IoRead(ushort port, int size)
    {
        uint refresh = (uint)(_clock.NowNs / RefreshPeriodNs) & 1;
        return (_pit.GetGate(2) ? 1u : 0u) | (_dataOn ? 2u : 0u) | (refresh << 4) | (_pit.GetOut(2) ? 0x20u : 0u);
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        _dataOn = (value & 2) != 0;
        _pit.SetGate(2, (value & 1) != 0);
    }

    public PcSpeakerState Save() => new() { DataOn = _dataOn };

    public void Load(PcSpeakerState state) => _dataOn = state.DataOn;
}
