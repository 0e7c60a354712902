namespace Emu.Machine.Devices.Ata;

/// <summary>What the data port is moving, if anything (the PIO phase of the current command).</summary>
public enum AtaTransferKind : byte
{
    None = 0,

    /// <summary>READ SECTORS / READ MULTIPLE: device to host, refilled from the image per block.</summary>
    Read = 1,

    /// <summary>WRITE SECTORS / WRITE MULTIPLE: host to device, written to the image per block.</summary>
    Write = 2,

    /// <summary>IDENTIFY DEVICE: one 512-byte block, no sectors involved.</summary>
    Identify = 3,
}
