namespace Emu.Machine.Devices.FwCfg;

/// <summary>
/// fw_cfg's migrated state (QEMU vmstate_fw_cfg): the selected item and the read position within it. The items
/// themselves come from the command line, identical on both sides, and are not sent.
/// </summary>
public sealed record FwCfgState
{
    public ushort CurEntry { get; init; } = FwCfgKey.Invalid;

    public uint CurOffset { get; init; }
}
