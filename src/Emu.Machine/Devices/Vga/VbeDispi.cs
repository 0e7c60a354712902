namespace Emu.Machine.Devices.Vga;

/// <summary>
/// The Bochs VBE "DISPI" interface (QEMU hw/display/vga.c vbe_ioport_*, include/hw/display/bochs-vbe.h):
/// an index port at 0x1CE and a 16-bit data port at 0x1CF.
/// </summary>
public static class VbeDispi
{
    public const ushort IndexPort = 0x1CE;
    public const ushort DataPort = 0x1CF;

    public const ushort IndexId = 0x0;
    public const ushort IndexXRes = 0x1;
    public const ushort IndexYRes = 0x2;
    public const ushort IndexBpp = 0x3;
    public const ushort IndexEnable = 0x4;
    public const ushort IndexBank = 0x5;
    public const ushort IndexVirtWidth = 0x6;
    public const ushort IndexVirtHeight = 0x7;
    public const ushort IndexXOffset = 0x8;
    public const ushort IndexYOffset = 0x9;
    public const ushort IndexVideoMemory64K = 0xA;

    /// <summary>Registers kept in state (ID to Y_OFFSET); VIDEO_MEMORY_64K is derived from the vram size.</summary>
    public const int RegisterCount = 10;

    public const ushort Id0 = 0xB0C0;
    public const ushort Id5 = 0xB0C5;

    public const ushort Enabled = 0x01;
    public const ushort GetCaps = 0x02;
    public const ushort Dac8Bit = 0x20;
    public const ushort LfbEnabled = 0x40;
    public const ushort NoClearMem = 0x80;

    public const ushort MaxXRes = 2560;
    public const ushort MaxYRes = 1600;
    public const ushort MaxBpp = 32;

    /// <summary>Where the linear framebuffer appears in guest-physical memory (QEMU VBE_DISPI_LFB_PHYSICAL_ADDRESS).</summary>
    public const ulong LfbPhysicalAddress = 0xE0000000;

    public static bool IsSupportedBpp(int bpp) => bpp is 8 or 15 or 16 or 24 or 32;

    public static int BytesPerPixel(int bpp) => (bpp + 7) / 8;
}
