using System.Buffers.Binary;
using System.Numerics;
using Emu.Display;

namespace Emu.UnitTests.Display;

/// <summary>
/// Reads an X Window Dump (what <c>xwd -root -display :N</c> writes; X11/XWDFile.h, file version 7): a header of
/// 25 big-endian CARD32, the window name, the colour map (12 bytes per entry), then the pixels. Only ZPixmap with
/// 24 or 32 bits per pixel and TrueColor masks, which is what Xvfb at depth 24 produces.
/// </summary>
/// <remarks>
/// Header words used: 0 header_size, 1 file_version, 2 pixmap_format (2 = ZPixmap), 4/5 width/height,
/// 7 byte_order (0 LSB first), 11 bits_per_pixel, 12 bytes_per_line, 14–16 red/green/blue masks, 19 ncolors.
/// </remarks>
public static class XwdImage
{
    internal const int HeaderWords = 25;
    internal const int ZPixmap = 2;

    public static FrameBuffer Read(byte[] xwd)
    {
        if (xwd.Length < HeaderWords * 4)
        {
            throw new InvalidDataException($"xwd: file is {xwd.Length} bytes, shorter than the {HeaderWords * 4}-byte header");
        }

        uint Word(int i) => BinaryPrimitives.ReadUInt32BigEndian(xwd.AsSpan(i * 4));
        uint headerSize = Word(0), version = Word(1), format = Word(2);
        int width = (int)Word(4), height = (int)Word(5);
        bool msbFirst = Word(7) != 0;
        int bitsPerPixel = (int)Word(11), bytesPerLine = (int)Word(12);
        uint redMask = Word(14), greenMask = Word(15), blueMask = Word(16);
        int colors = (int)Word(19);
        if (version != 7 || format != ZPixmap || bitsPerPixel is not (24 or 32))
        {
            throw new InvalidDataException($"xwd: version {version}, format {format}, {bitsPerPixel} bpp; expected version 7 ZPixmap with 24 or 32 bpp");
        }

        long dataStart = headerSize + (colors * 12L);
        if (dataStart + ((long)bytesPerLine * height) > xwd.Length)
        {
            throw new InvalidDataException($"xwd: {width}x{height} image at 0x{dataStart:x} runs past the end (0x{xwd.Length:x})");
        }

        // Xvfb at depth 24 answers with 32 or with packed 24 bits per pixel; rows are padded to bytes_per_line.
        int bytesPerPixel = bitsPerPixel / 8;
        var frame = new FrameBuffer(width, height);
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> line = xwd.AsSpan((int)dataStart + (y * bytesPerLine), bytesPerLine);
            for (int x = 0; x < width; x++)
            {
                ReadOnlySpan<byte> p = line.Slice(x * bytesPerPixel, bytesPerPixel);
                uint v = 0;
                for (int i = 0; i < bytesPerPixel; i++)
                {
                    v |= (uint)p[msbFirst ? bytesPerPixel - 1 - i : i] << (8 * i);
                }

                frame[x, y] = (Channel(v, redMask) << 16) | (Channel(v, greenMask) << 8) | Channel(v, blueMask);
            }
        }

        return frame;
    }

    /// <summary>The channel under <paramref name="mask"/>, scaled to 8 bits.</summary>
    private static uint Channel(uint pixel, uint mask)
    {
        if (mask == 0)
        {
            return 0;
        }

        int shift = BitOperations.TrailingZeroCount(mask);
        int bits = BitOperations.PopCount(mask);
        uint v = (pixel & mask) >> shift;
        return bits >= 8 ? v >> (bits - 8) : (v << (8 - bits)) | (v >> ((2 * bits) - 8 < 0 ? 0 : (2 * bits) - 8));
    }
}
