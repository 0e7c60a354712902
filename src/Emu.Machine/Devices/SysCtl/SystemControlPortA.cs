using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.SysCtl;

/// <summary>
/// System control port A at 0x92 (QEMU hw/i386/port92.c): bit 1 is "fast A20", a rising bit 0 resets the
/// machine. Emu does not emulate the A20 wrap (addresses never alias at 1 MiB), so the A20 bit is only kept and
/// read back, as firmware checks that its write took.
/// </summary>
public sealed class SystemControlPortA : IIoDevice, IVmState<Port92State>
{
    public const ushort Port = 0x92;

    public static readonly VmStateDescription<Port92State> StateDescription = new(
        "port92", version: 1, minimumVersion: 1, () => new Port92State(),
        [VmField.U8<Port92State>("outport", s => s.Outport, (s, v) => s with { Outport = v })],
        validate: Validate);

    internal const byte ResetBit = 0x01;
    internal const byte A20Bit = 0x02;

    private byte _outport;

    /// <summary>Called when the guest sets bit 0 (fast reset).</summary>
    public Action? ResetRequested { get; set; }

    public bool A20Enabled => (_outport & A20Bit) != 0;

    public string SectionName => StateDescription.Name;

    public VmStateDescription<Port92State> Vmsd => StateDescription;

    public void Register(IoBus bus) => bus.Register(Port, 1, this);

    /// <summary>QEMU port92_reset: the reset bit clears; A20 stays as it was.</summary>
    public void Reset() => _outport &= unchecked((byte)~ResetBit);

    public uint IoRead(ushort port, int size) => _outport;

    /// <summary>QEMU port92_write: the reset fires on bit 0's rising edge only. Bits 2–7 (lock, LEDs) are not modelled and read 0.</summary>
    public void IoWrite(ushort port, int size, uint value)
    {
        byte old = _outport;
        _outport = (byte)(value & (ResetBit | A20Bit));
        if ((_outport & ResetBit) != 0 && (old & ResetBit) == 0)
        {
            ResetRequested?.Invoke();
        }
    }

    public Port92State Save() => new() { Outport = _outport };

    public void Load(Port92State state)
    {
        StateCheck.Require(SectionName, Validate(state));
        _outport = state.Outport;
    }

    /// <summary>Only bits 0 (reset) and 1 (A20) exist on Emu's port.</summary>
    private static string? Validate(Port92State s) =>
        (s.Outport & ~(ResetBit | A20Bit)) != 0 ? $"outport 0x{s.Outport:x2} sets bits other than reset and A20" : null;
}
