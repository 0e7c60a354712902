using System.Buffers.Binary;
using System.IO.Compression;
using Emu.Display;

namespace Emu.UnitTests.Display;

/// <summary>
/// A minimal PNG reader for tests: checks the signature and every chunk CRC, inflates IDAT with ZLibStream and
/// undoes the five row filters. 8-bit RGB or RGBA, non-interlaced only (what Emu and QEMU write).
/// </summary>
public static class PngImage
{
    public static FrameBuffer Read(byte[] png)
    {
        if (!png.AsSpan(0, 8).SequenceEqual(PngWriter.Signature))
        {
            throw new InvalidDataException("png: bad signature");
        }

        int width = 0, height = 0, colorType = 0;
        var idat = new MemoryStream();
        int pos = 8;
        while (true)
        {
            int length = checked((int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos)));
            ReadOnlySpan<byte> typeAndData = png.AsSpan(pos + 4, 4 + length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            string type = System.Text.Encoding.ASCII.GetString(typeAndData[..4]);
            if (Crc32.Compute(typeAndData) != crc)
            {
                throw new InvalidDataException($"png: chunk {type} at 0x{pos:x} has a bad CRC");
            }

            ReadOnlySpan<byte> data = typeAndData[4..];
            switch (type)
            {
                case "IHDR":
                    width = (int)BinaryPrimitives.ReadUInt32BigEndian(data);
                    height = (int)BinaryPrimitives.ReadUInt32BigEndian(data[4..]);
                    colorType = data[9];
                    if (data[8] != 8 || colorType is not (2 or 6) || data[12] != 0)
                    {
                        throw new InvalidDataException($"png: unsupported depth {data[8]} colour type {colorType} interlace {data[12]}");
                    }

                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
            }

            pos += 12 + length;
            if (type == "IEND")
            {
                break;
            }
        }

        int bpp = colorType == 6 ? 4 : 3;
        int stride = width * bpp;
        idat.Position = 0;
        using var zlib = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        zlib.CopyTo(raw);
        byte[] bytes = raw.ToArray();
        if (bytes.Length != height * (stride + 1))
        {
            throw new InvalidDataException($"png: {bytes.Length} bytes of image data, expected {height * (stride + 1)}");
        }

        var frame = new FrameBuffer(width, height);
        var prev = new byte[stride];
        var cur = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int filter = bytes[y * (stride + 1)];
            bytes.AsSpan((y * (stride + 1)) + 1, stride).CopyTo(cur);
            Unfilter(filter, cur, prev, bpp);
            for (int x = 0; x < width; x++)
            {
                frame[x, y] = (uint)((cur[x * bpp] << 16) | (cur[(x * bpp) + 1] << 8) | cur[(x * bpp) + 2]);
            }

            (prev, cur) = (cur, prev);
        }

        return frame;
    }

    private static void Unfilter(int filter, byte[] cur, byte[] prev, int bpp)
    {
        for (int i = 0; i < cur.Length; i++)
        {
            int a = i >= bpp ? cur[i - bpp] : 0;
            int b = prev[i];
            int c = i >= bpp ? prev[i - bpp] : 0;
            cur[i] = (byte)(cur[i] + filter switch
            {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => Paeth(a, b, c),
                _ => throw new InvalidDataException($"png: unknown filter {filter}"),
            });
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
