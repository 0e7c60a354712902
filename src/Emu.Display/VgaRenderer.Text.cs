using Emu.Machine.Devices.Vga;

namespace Emu.Display;

/// <summary>Text mode (QEMU vga_draw_text): cells from planes 0/1, glyphs from plane 2, blink and cursor.</summary>
public sealed unsafe partial class VgaRenderer
{
    internal const int FontBytesPerPlane = 256 * 32;

    private bool DrawText(VgaScanout s, FrameBuffer frame, long nowMs, bool full)
    {
        long textBytes = (long)s.Rows * s.LineOffsetBytes;
        if (!full && !AnyDirty(s.StartOffset, textBytes)
            && !AnyDirty(s.FontOffsetA - 2, FontBytesPerPlane * 4L) && !AnyDirty(s.FontOffsetB - 2, FontBytesPerPlane * 4L))
        {
            return false;
        }

        bool cursorOn = (nowMs / CursorBlinkMs % 2) == 0;
        bool blinkOn = (nowMs / CharBlinkMs % 2) == 0;
        bool builtinFont = PlaneTwoFontEmpty(s.FontOffsetA) && PlaneTwoFontEmpty(s.FontOffsetB);
        ReadOnlySpan<byte> defaultFont = DefaultFont.Glyphs8x16;

        for (int row = 0; row < s.Rows; row++)
        {
            for (int col = 0; col < s.Columns; col++)
            {
                long cell = s.StartOffset + ((long)row * s.LineOffsetBytes) + (col * 4L);
                int ch = 0, attr = 0;
                if (cell + 1 < _vramBytes)
                {
                    ch = _vram[cell];
                    attr = _vram[cell + 1];
                }

                uint fg = s.AttributeColors[attr & 0x0F];
                uint bg;
                if (s.BlinkEnabled)
                {
                    bg = s.AttributeColors[(attr >> 4) & 0x07];
                    if ((attr & 0x80) != 0 && !blinkOn)
                    {
                        fg = bg;
                    }
                }
                else
                {
                    bg = s.AttributeColors[attr >> 4];
                }

                int fontOffset = (attr & 0x08) != 0 ? s.FontOffsetB : s.FontOffsetA;
                bool lineGraphics = s.LineGraphics && ch >= 0xC0 && ch <= 0xDF;
                int x0 = col * s.CellWidth;
                for (int line = 0; line < s.CharHeight; line++)
                {
                    int bits;
                    if (builtinFont)
                    {
                        bits = line < DefaultFont.GlyphHeight ? defaultFont[(ch * DefaultFont.GlyphHeight) + line] : 0;
                    }
                    else
                    {
                        long at = fontOffset + (((ch * 32L) + line) * 4);
                        bits = line < 32 && at < _vramBytes ? _vram[at] : 0;
                    }

                    Span<uint> dst = frame.Row((row * s.CharHeight) + line).Slice(x0, s.CellWidth);
                    for (int x = 0; x < 8; x++)
                    {
                        dst[x] = (bits & (0x80 >> x)) != 0 ? fg : bg;
                    }

                    if (s.CellWidth == 9)
                    {
                        dst[8] = lineGraphics && (bits & 1) != 0 ? fg : bg;
                    }

                    if (cursorOn && cell == s.CursorOffset && line >= s.CursorStart && line <= s.CursorEnd)
                    {
                        dst.Fill(fg);
                    }
                }
            }
        }

        return true;
    }

    /// <summary>
    /// True when the font at this plane-2 offset is all zero: the guest never loaded one (a multiboot kernel
    /// without a BIOS), so the built-in font draws the text instead.
    /// </summary>
    private bool PlaneTwoFontEmpty(int fontOffset)
    {
        long end = Math.Min(_vramBytes, fontOffset + (FontBytesPerPlane * 4L));
        for (long at = fontOffset; at < end; at += 4)
        {
            if (_vram[at] != 0)
            {
                return false;
            }
        }

        return true;
    }
}
