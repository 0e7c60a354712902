namespace Emu.Machine.Devices.Vga;

/// <summary>
/// The standard VGA register values for mode 03h (80x25 16-colour text, 720x400), which the device powers up in.
/// These are the values every VGA BIOS programs (IBM VGA Technical Reference, mode 3+ column).
/// </summary>
internal static class Mode03
{
    public const byte Misc = 0x67;

    public static ReadOnlySpan<byte> Sequencer => [0x03, 0x00, 0x03, 0x00, 0x02];

    public static ReadOnlySpan<byte> Crtc =>
    [
        0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00, 0x00, 0x00, 0x00,
        0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
    ];

    public static ReadOnlySpan<byte> Attribute =>
    [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F,
        0x0C, 0x00, 0x0F, 0x08, 0x00,
    ];

    public static ReadOnlySpan<byte> Graphics => [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF];

    /// <summary>
    /// The EGA 64-colour palette in DAC entries 0–63 (6-bit): bits 2/1/0 add 2/3 intensity of red/green/blue,
    /// bits 5/4/3 add 1/3, which is what the attribute registers above index.
    /// </summary>
    public static void LoadEgaPalette(Span<byte> palette)
    {
        for (int i = 0; i < 64; i++)
        {
            palette[i * 3] = (byte)((((i >> 2) & 1) * 0x2A) + (((i >> 5) & 1) * 0x15));
            palette[(i * 3) + 1] = (byte)((((i >> 1) & 1) * 0x2A) + (((i >> 4) & 1) * 0x15));
            palette[(i * 3) + 2] = (byte)(((i & 1) * 0x2A) + (((i >> 3) & 1) * 0x15));
        }
    }
}
