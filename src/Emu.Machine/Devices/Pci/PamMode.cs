namespace Emu.Machine.Devices.Pci;

/// <summary>A PAM segment's two enable bits: where its reads and writes go (DRAM or the ROM/PCI side).</summary>
public static class PamMode
{
    public const int Off = 0, ReadOnly = 1, WriteOnly = 2, ReadWrite = 3;
}
