namespace Emu.Machine.Devices.FwCfg;

/// <summary>fw_cfg item selectors, QEMU's FW_CFG_* values (include/standard-headers/linux/qemu_fw_cfg.h).</summary>
public static class FwCfgKey
{
    public const ushort Signature = 0x00;
    public const ushort Id = 0x01;
    public const ushort Uuid = 0x02;
    public const ushort RamSize = 0x03;
    public const ushort NoGraphic = 0x04;
    public const ushort NbCpus = 0x05;
    public const ushort MachineId = 0x06;
    public const ushort KernelAddr = 0x07;
    public const ushort KernelSize = 0x08;
    public const ushort KernelCmdline = 0x09;
    public const ushort InitrdAddr = 0x0A;
    public const ushort InitrdSize = 0x0B;
    public const ushort BootDevice = 0x0C;
    public const ushort Numa = 0x0D;
    public const ushort BootMenu = 0x0E;
    public const ushort MaxCpus = 0x0F;
    public const ushort KernelEntry = 0x10;
    public const ushort KernelData = 0x11;
    public const ushort InitrdData = 0x12;
    public const ushort CmdlineAddr = 0x13;
    public const ushort CmdlineSize = 0x14;
    public const ushort CmdlineData = 0x15;
    public const ushort SetupAddr = 0x16;
    public const ushort SetupSize = 0x17;
    public const ushort SetupData = 0x18;
    public const ushort FileDir = 0x19;
    public const ushort FileFirst = 0x20;

    /// <summary>QEMU FW_CFG_FILE_SLOTS_DFLT: how many named files the directory can hold.</summary>
    public const ushort FileSlots = 0x20;

    /// <summary>Keys below this (after removing the flags) exist; QEMU's FW_CFG_MAX_ENTRY for the default slots.</summary>
    public const ushort MaxEntry = FileFirst + FileSlots;

    public const ushort WriteChannel = 0x4000;
    public const ushort ArchLocal = 0x8000;

    /// <summary>QEMU FW_CFG_ENTRY_MASK: the item number without the write-channel and arch-local flags.</summary>
    public const ushort EntryMask = unchecked((ushort)~(WriteChannel | ArchLocal));

    /// <summary>QEMU FW_CFG_INVALID: what the selector holds after selecting a key that does not exist.</summary>
    public const ushort Invalid = 0xFFFF;
}
