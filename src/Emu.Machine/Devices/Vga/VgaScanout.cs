namespace Emu.Machine.Devices.Vga;

/// <summary>
/// A consistent copy of everything the renderer needs from the VGA registers, taken under the device's lock by
/// <see cref="VgaDevice.CaptureScanout"/>. The renderer owns one and reuses it every frame; the pixels themselves
/// are read from <see cref="VgaDevice.Vram"/> afterwards, without the lock.
/// </summary>
public sealed class VgaScanout
{
    public VgaScanoutKind Kind { get; internal set; }

    /// <summary>Visible width and height in guest pixels (text: columns × cell width, rows × char height).</summary>
    public int Width { get; internal set; }

    public int Height { get; internal set; }

    /// <summary>Bumped on every register or palette write, so the renderer knows when to redraw everything.</summary>
    public ulong RegisterGeneration { get; internal set; }

    /// <summary>Byte offset into vram of the first displayed cell or pixel.</summary>
    public int StartOffset { get; internal set; }

    /// <summary>Bytes of vram between two character rows (text) or two pixel lines (graphics).</summary>
    public int LineOffsetBytes { get; internal set; }

    /// <summary>Text: the number of columns and rows.</summary>
    public int Columns { get; internal set; }

    public int Rows { get; internal set; }

    /// <summary>Text: 8 or 9 dots per character.</summary>
    public int CellWidth { get; internal set; }

    /// <summary>Text: scanlines per character row.</summary>
    public int CharHeight { get; internal set; }

    /// <summary>Text: vram byte offsets (plane 2 already included) of the two fonts chosen by SR3 (attribute bit 3 selects).</summary>
    public int FontOffsetA { get; internal set; }

    public int FontOffsetB { get; internal set; }

    /// <summary>Text: attribute bit 7 blinks the character instead of selecting a bright background.</summary>
    public bool BlinkEnabled { get; internal set; }

    /// <summary>Text: the 9th column repeats the 8th for characters 0xC0–0xDF (box drawing).</summary>
    public bool LineGraphics { get; internal set; }

    /// <summary>Text: vram byte offset of the cursor cell, or -1 when the cursor is off or outside the screen.</summary>
    public int CursorOffset { get; internal set; }

    public int CursorStart { get; internal set; }

    public int CursorEnd { get; internal set; }

    /// <summary>Graphics: guest scanlines per vram line (double scan and the maximum scan line), folded away.</summary>
    public int ScanlinesPerLine { get; internal set; }

    /// <summary>VBE: bits per pixel (8, 15, 16, 24, 32).</summary>
    public int Bpp { get; internal set; }

    /// <summary>The 16 attribute-controller colours resolved through the DAC (text and planar modes), XRGB.</summary>
    public uint[] AttributeColors { get; } = new uint[16];

    /// <summary>The 256 DAC entries as XRGB, PEL mask applied (256-colour modes).</summary>
    public uint[] Palette { get; } = new uint[256];

    /// <summary>Planar: which planes contribute to a pixel (attribute controller colour plane enable).</summary>
    public int PlaneEnableMask { get; internal set; }
}
