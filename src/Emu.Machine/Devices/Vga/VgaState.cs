namespace Emu.Machine.Devices.Vga;

/// <summary>
/// The migrated state of the VGA (QEMU vmstate_vga_common plus the Bochs VBE registers). The planes and the
/// VBE framebuffer are in the "vga.vram" RAM block, which migrates with the rest of RAM.
/// </summary>
public sealed record VgaState
{
    public uint Latch { get; init; }

    public byte SrIndex { get; init; }

    public byte[] Sr { get; init; } = new byte[VgaDevice.SrCount];

    public byte GrIndex { get; init; }

    public byte[] Gr { get; init; } = new byte[VgaDevice.GrCount];

    public byte ArIndex { get; init; }

    public byte[] Ar { get; init; } = new byte[VgaDevice.ArCount];

    /// <summary>The attribute controller's index/data flip-flop: 0 means the next write to 0x3C0 is an index.</summary>
    public byte ArFlipFlop { get; init; }

    public byte CrIndex { get; init; }

    public byte[] Cr { get; init; } = new byte[VgaDevice.CrCount];

    public byte Msr { get; init; }

    public byte Fcr { get; init; }

    public byte St00 { get; init; }

    public byte St01 { get; init; }

    public byte PelMask { get; init; }

    public byte DacState { get; init; }

    public byte DacSubIndex { get; init; }

    public byte DacReadIndex { get; init; }

    public byte DacWriteIndex { get; init; }

    public byte[] DacCache { get; init; } = new byte[3];

    /// <summary>256 entries of red, green, blue; 6-bit values unless the VBE 8-bit DAC flag is set.</summary>
    public byte[] Palette { get; init; } = new byte[VgaDevice.PaletteBytes];

    public ushort VbeIndex { get; init; }

    /// <summary>The Bochs VBE registers 0 to 9 (ID … Y_OFFSET), as QEMU's vbe_regs.</summary>
    public ushort[] VbeRegs { get; init; } = new ushort[VbeDispi.RegisterCount];

    /// <summary>Byte offset of the banked 64 KiB window into vram (BANK × 64 KiB).</summary>
    public uint BankOffset { get; init; }
}
