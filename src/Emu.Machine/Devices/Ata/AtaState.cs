namespace Emu.Machine.Devices.Ata;

/// <summary>
/// The ATA channel's migrated state (section "ide"): the task file, the logical geometry, and the PIO transfer in
/// progress with its buffer. The disk image is shared storage between source and destination (as QEMU without
/// block migration), so its contents are not part of the state.
/// </summary>
public sealed record AtaState
{
    public byte Error { get; init; } = 0x01;

    public byte Feature { get; init; }

    public byte SectorCount { get; init; } = 1;

    public byte Sector { get; init; } = 1;

    public byte CylinderLow { get; init; }

    public byte CylinderHigh { get; init; }

    public byte Select { get; init; } = 0xA0;

    public byte Status { get; init; } = 0x50;

    public byte Control { get; init; }

    public byte Command { get; init; }

    /// <summary>Heads of the CHS translation (INITIALIZE DEVICE PARAMETERS changes it), 1 to 16.</summary>
    public byte Heads { get; init; } = 16;

    /// <summary>Sectors per track of the CHS translation, 1 to 255.</summary>
    public byte SectorsPerTrack { get; init; } = 63;

    /// <summary>SET MULTIPLE MODE's block size in sectors; 0 until set.</summary>
    public byte MultSectors { get; init; }

    public AtaTransferKind Transfer { get; init; }

    public ImmutableBytes Buffer { get; init; } = ImmutableBytes.Zero(AtaController.BufferSize);

    public ushort DataPos { get; init; }

    public ushort DataEnd { get; init; }

    /// <summary>Sectors still to move in this command, the current block included.</summary>
    public uint Remaining { get; init; }

    /// <summary>The LBA of the current block's first sector.</summary>
    public uint Lba { get; init; }

    /// <summary>Sectors per block of the current command (1, or the multiple count).</summary>
    public byte BlockSectors { get; init; }

    public bool IrqPending { get; init; }
}
