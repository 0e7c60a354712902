namespace Emu.Machine.Devices.SysCtl;

/// <summary>Port 0x92's migrated state (QEMU vmstate_port92 "port92").</summary>
public sealed record Port92State
{
    public byte Outport { get; init; }
}
