using Emu.Display;
using Emu.Machine.Devices.Vga;

namespace Emu.UnitTests.Display;

/// <summary>
/// Where a string was found: the top-left pixel of its first cell (within a pixel when scaled up: any origin whose
/// samples land in the right scaled pixels matches), the scale and the cell width.
/// </summary>
public readonly record struct TextMatch(int X, int Y, double ScaleX, double ScaleY, int CellWidth);

/// <summary>
/// Finds VGA text in a picture (a screendump or an X screenshot of the window): at some origin and scale, each
/// character's cell must show exactly its glyph's bitmap in two colours (any two, so attributes do not matter).
/// Sampling at the centre of each scaled glyph pixel makes it exact for nearest-neighbour scaling.
/// </summary>
public static class TextOnScreen
{
    /// <summary>Scales tried when the caller does not know the window size.</summary>
    public static readonly double[] DefaultScales = [1, 2, 1.5, 3, 4, 1.25, 2.5];

    public static bool Contains(FrameBuffer image, string text, double[]? scales = null, byte[]? font = null) =>
        TryFind(image, text, out _, scales, font);

    /// <summary>
    /// Searches every origin at each uniform scale in <paramref name="scales"/> (default <see cref="DefaultScales"/>)
    /// for 9- and 8-dot cells. <paramref name="font"/> is 256 glyphs of 16 rows (default: Emu's built-in font).
    /// </summary>
    public static bool TryFind(FrameBuffer image, string text, out TextMatch match, double[]? scales = null, byte[]? font = null)
    {
        foreach (double s in scales ?? DefaultScales)
        {
            if (TryFindAt(image, text, s, s, out match, font))
            {
                return true;
            }
        }

        match = default;
        return false;
    }

    /// <summary>Searches at one (possibly non-uniform) scale, e.g. window size over guest resolution.</summary>
    public static bool TryFindAt(FrameBuffer image, string text, double scaleX, double scaleY, out TextMatch match, byte[]? font = null)
    {
        byte[] glyphs = font ?? DefaultFont.Glyphs8x16.ToArray();
        byte[] codes = ToCodePage437(text);
        int first = Array.FindIndex(codes, c => HasInk(glyphs, c));
        if (first < 0)
        {
            throw new ArgumentException($"text on screen: '{text}' has no visible character to look for", nameof(text));
        }

        int glyphHeight = (int)Math.Ceiling(16 * scaleY);
        for (int oy = 0; oy + glyphHeight <= image.Height; oy++)
        {
            for (int ox = 0; ox < image.Width; ox++)
            {
                foreach (int cellWidth in (ReadOnlySpan<int>)[9, 8])
                {
                    if (ox + (int)(cellWidth * scaleX * codes.Length) > image.Width)
                    {
                        continue;
                    }

                    // The first visible character decides cheaply; the rest only where it matched.
                    if (!CellMatches(image, glyphs, codes[first], ox, oy, scaleX, scaleY, first * cellWidth))
                    {
                        continue;
                    }

                    if (AllMatch(image, glyphs, codes, ox, oy, scaleX, scaleY, cellWidth))
                    {
                        match = new TextMatch(ox, oy, scaleX, scaleY, cellWidth);
                        return true;
                    }
                }
            }
        }

        match = default;
        return false;
    }

    private static bool AllMatch(FrameBuffer image, byte[] glyphs, byte[] codes, int ox, int oy, double sx, double sy, int cellWidth)
    {
        for (int i = 0; i < codes.Length; i++)
        {
            if (!CellMatches(image, glyphs, codes[i], ox, oy, sx, sy, i * cellWidth))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The cell starting <paramref name="guestX"/> guest pixels right of the origin shows the glyph: every ink
    /// sample one colour, every other sample another.
    /// </summary>
    private static bool CellMatches(FrameBuffer image, byte[] glyphs, byte code, int ox, int oy, double sx, double sy, int guestX)
    {
        // Cheap rejection first: one ink and one paper pixel of the glyph must differ (most origins fail here).
        if (!QuickCheck(image, glyphs, code, ox, oy, sx, sy, guestX))
        {
            return false;
        }

        uint? ink = null, paper = null;
        for (int row = 0; row < 16; row++)
        {
            int bits = glyphs[(code * 16) + row];
            int py = oy + (int)((row + 0.5) * sy);
            if (py >= image.Height)
            {
                return false;
            }

            for (int col = 0; col < 8; col++)
            {
                int px = ox + (int)((guestX + col + 0.5) * sx);
                if (px >= image.Width)
                {
                    return false;
                }

                uint c = image[px, py];
                if ((bits & (0x80 >> col)) != 0)
                {
                    ink ??= c;
                    if (c != ink)
                    {
                        return false;
                    }
                }
                else
                {
                    paper ??= c;
                    if (c != paper)
                    {
                        return false;
                    }
                }
            }
        }

        return ink == null || ink != paper;
    }

    private static bool QuickCheck(FrameBuffer image, byte[] glyphs, byte code, int ox, int oy, double sx, double sy, int guestX)
    {
        int inkAt = -1, paperAt = -1;
        for (int i = 0; i < 128 && (inkAt < 0 || paperAt < 0); i++)
        {
            bool set = (glyphs[(code * 16) + (i / 8)] & (0x80 >> (i % 8))) != 0;
            if (set && inkAt < 0)
            {
                inkAt = i;
            }
            else if (!set && paperAt < 0)
            {
                paperAt = i;
            }
        }

        if (inkAt < 0 || paperAt < 0)
        {
            return true;
        }

        int ix = ox + (int)((guestX + (inkAt % 8) + 0.5) * sx), iy = oy + (int)(((inkAt / 8) + 0.5) * sy);
        int px = ox + (int)((guestX + (paperAt % 8) + 0.5) * sx), py = oy + (int)(((paperAt / 8) + 0.5) * sy);
        if (ix >= image.Width || px >= image.Width || iy >= image.Height || py >= image.Height)
        {
            return false;
        }

        return image[ix, iy] != image[px, py];
    }

    private static bool HasInk(byte[] glyphs, byte code)
    {
        for (int row = 0; row < 16; row++)
        {
            if (glyphs[(code * 16) + row] != 0)
            {
                return true;
            }
        }

        return false;
    }

    private static byte[] ToCodePage437(string text)
    {
        var codes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            codes[i] = c is >= ' ' and <= '~'
                ? (byte)c
                : throw new ArgumentException($"text on screen: only printable ASCII is matched, found U+{(int)c:X4} in '{text}'", nameof(text));
        }

        return codes;
    }
}
