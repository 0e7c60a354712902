namespace Emu.Machine.Devices.Vga;

/// <summary>What the CRT controller shows: the display geometry derived from the registers (QEMU vga_update_display).</summary>
public sealed partial class VgaDevice
{
    /// <summary>
    /// Thread-safe: fills <paramref name="into"/> with a consistent copy of the display registers. Call from the
    /// display thread; then read the pixels from <see cref="Vram"/>.
    /// </summary>
    public void CaptureScanout(VgaScanout into)
    {
        lock (_lock)
        {
            into.RegisterGeneration = _registerGeneration;
            ResolvePalette(into);
            if (VbeEnabled)
            {
                CaptureVbe(into);
            }
            else if ((_ar[0x10] & 0x01) == 0)
            {
                CaptureText(into);
            }
            else
            {
                CaptureGraphics(into);
            }

            if (into.Width <= 0 || into.Height <= 0)
            {
                into.Kind = VgaScanoutKind.Blank;
                into.Width = 0;
                into.Height = 0;
            }
        }
    }

    /// <summary>The DAC as XRGB, and the 16 attribute colours (QEMU update_palette16 / update_palette256).</summary>
    private void ResolvePalette(VgaScanout into)
    {
        bool dac8 = VbeEnabled && (_vbeRegs[VbeDispi.IndexEnable] & VbeDispi.Dac8Bit) != 0;
        for (int i = 0; i < 256; i++)
        {
            into.Palette[i] = DacColor(i & _pelMask, dac8);
        }

        for (int i = 0; i < 16; i++)
        {
            int v = _ar[i];
            if ((_ar[0x10] & 0x80) != 0)
            {
                v = ((_ar[0x14] & 0x0F) << 4) | (v & 0x0F);
            }
            else
            {
                v = ((_ar[0x14] & 0x0C) << 4) | (v & 0x3F);
            }

            into.AttributeColors[i] = DacColor(v & _pelMask, dac8);
        }
    }

    private uint DacColor(int index, bool dac8)
    {
        int r = _palette[index * 3], g = _palette[(index * 3) + 1], b = _palette[(index * 3) + 2];
        if (!dac8)
        {
            // 6-bit DAC values to 8 bits, filling the low bits so 0x3F becomes 0xFF.
            r = ((r & 0x3F) << 2) | ((r & 0x3F) >> 4);
            g = ((g & 0x3F) << 2) | ((g & 0x3F) >> 4);
            b = ((b & 0x3F) << 2) | ((b & 0x3F) >> 4);
        }

        return (uint)((r << 16) | (g << 8) | b);
    }

    private int VerticalDisplayLines =>
        (_cr[0x12] | ((_cr[0x07] & 0x02) << 7) | ((_cr[0x07] & 0x40) << 3)) + 1;

    private int CrtcStartAddress => (_cr[0x0C] << 8) | _cr[0x0D];

    private void CaptureText(VgaScanout into)
    {
        into.Kind = VgaScanoutKind.Text;
        into.Columns = _cr[0x01] + 1;
        into.CellWidth = (_sr[1] & 0x01) != 0 ? 8 : 9;
        into.CharHeight = (_cr[0x09] & 0x1F) + 1;
        into.Rows = VerticalDisplayLines / into.CharHeight;
        into.Width = into.Columns * into.CellWidth;
        into.Height = into.Rows * into.CharHeight;
        into.StartOffset = CrtcStartAddress * 4;
        into.LineOffsetBytes = _cr[0x13] * 8;
        into.BlinkEnabled = (_ar[0x10] & 0x08) != 0;
        into.LineGraphics = (_ar[0x10] & 0x04) != 0;

        // SR3: font A (attribute bit 3 clear) in bits 5,1,0 and font B in bits 4,3,2; each 8 KiB of plane 2.
        int sr3 = _sr[3];
        int fontA = ((sr3 >> 5) & 1) | ((sr3 << 1) & 6);
        int fontB = ((sr3 >> 4) & 1) | ((sr3 >> 1) & 6);
        into.FontOffsetA = (fontA * 8192 * 4) + 2;
        into.FontOffsetB = (fontB * 8192 * 4) + 2;

        int cursorCell = ((_cr[0x0E] << 8) | _cr[0x0F]) - CrtcStartAddress;
        bool cursorOn = (_cr[0x0A] & 0x20) == 0 && cursorCell >= 0 && into.LineOffsetBytes > 0
            && cursorCell * 4 / into.LineOffsetBytes < into.Rows;
        into.CursorOffset = cursorOn ? (CrtcStartAddress + cursorCell) * 4 : -1;
        into.CursorStart = _cr[0x0A] & 0x1F;
        into.CursorEnd = _cr[0x0B] & 0x1F;
        into.ScanlinesPerLine = 1;
        into.Bpp = 4;
        into.PlaneEnableMask = _ar[0x12] & 0x0F;
    }

    private void CaptureGraphics(VgaScanout into)
    {
        // Repeated scanlines: the maximum scan line field plus double scanning (CR9 bit 7).
        int scanlines = ((_cr[0x09] & 0x1F) + 1) * ((_cr[0x09] & 0x80) != 0 ? 2 : 1);
        into.ScanlinesPerLine = scanlines;
        into.StartOffset = CrtcStartAddress * 4;
        into.LineOffsetBytes = _cr[0x13] * 8;
        into.Height = VerticalDisplayLines / scanlines;
        into.PlaneEnableMask = _ar[0x12] & 0x0F;
        into.CursorOffset = -1;
        int shiftControl = (_gr[5] >> 5) & 3;
        if (shiftControl >= 2)
        {
            into.Kind = VgaScanoutKind.Indexed256;
            into.Width = (_cr[0x01] + 1) * 4;
            into.Bpp = 8;
        }
        else if (shiftControl == 0)
        {
            into.Kind = VgaScanoutKind.Planar16;
            into.Width = (_cr[0x01] + 1) * 8;
            into.Bpp = 4;
        }
        else
        {
            // CGA-compatible 2-bit modes (04h–06h) are not drawn.
            into.Kind = VgaScanoutKind.Blank;
            into.Width = 0;
            into.Height = 0;
        }
    }

    private void CaptureVbe(VgaScanout into)
    {
        into.Kind = VgaScanoutKind.Vbe;
        into.Width = _vbeRegs[VbeDispi.IndexXRes];
        into.Height = _vbeRegs[VbeDispi.IndexYRes];
        into.Bpp = _vbeRegs[VbeDispi.IndexBpp];
        into.StartOffset = _vbeStartOffset;
        into.LineOffsetBytes = _vbeLineOffset;
        into.ScanlinesPerLine = 1;
        into.CursorOffset = -1;
        long need = ((long)_vbeLineOffset * into.Height) + _vbeStartOffset;
        if (!VbeDispi.IsSupportedBpp(into.Bpp) || need > (long)_vramBytes)
        {
            into.Kind = VgaScanoutKind.Blank;
            into.Width = 0;
            into.Height = 0;
        }
    }
}
