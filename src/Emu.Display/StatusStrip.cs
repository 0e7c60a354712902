using Emu.Machine.Devices.Vga;

namespace Emu.Display;

/// <summary>
/// The strip under the guest's picture in an SDL window: two lines of text in the VGA 8x16 font, white on dark
/// blue, saying what the process is doing (role, run state; migration status, pass, % sent, dirty rate, throttle,
/// downtime). It carries what the window title does, for displays with no window manager to show titles.
/// </summary>
public static class StatusStrip
{
    public const int Lines = 2;
    public const int Height = Lines * GlyphHeight;
    private const int GlyphWidth = 8;
    private const int GlyphHeight = 16;
    private const uint Background = 0x00_10_20_60;
    private const uint Foreground = 0x00_F0_F0_F0;

    /// <summary>Draws <paramref name="lines"/> (at most <see cref="Lines"/>) into rows <paramref name="top"/>… of <paramref name="frame"/>.</summary>
    public static void Draw(FrameBuffer frame, int top, ReadOnlySpan<string> lines)
    {
        ReadOnlySpan<byte> font = DefaultFont.Glyphs8x16;
        for (int y = top; y < Math.Min(frame.Height, top + Height); y++)
        {
            frame.Row(y).Fill(Background);
        }

        for (int l = 0; l < Math.Min(Lines, lines.Length); l++)
        {
            string text = lines[l];
            int columns = Math.Min(text.Length, (frame.Width - GlyphWidth) / GlyphWidth);
            for (int c = 0; c < columns; c++)
            {
                int ch = text[c] < 256 ? text[c] : '?';
                for (int gy = 0; gy < GlyphHeight; gy++)
                {
                    int y = top + (l * GlyphHeight) + gy;
                    if (y >= frame.Height)
                    {
                        break;
                    }

                    byte bits = font[(ch * GlyphHeight) + gy];
                    Span<uint> row = frame.Row(y);
                    int x0 = (GlyphWidth / 2) + (c * GlyphWidth);
                    for (int gx = 0; gx < GlyphWidth; gx++)
                    {
                        if ((bits & (0x80 >> gx)) != 0)
                        {
                            row[x0 + gx] = Foreground;
                        }
                    }
                }
            }
        }
    }
}
