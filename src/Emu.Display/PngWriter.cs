using System.Buffers.Binary;
using System.IO.Compression;

namespace Emu.Display;

/// <summary>
/// Writes a <see cref="FrameBuffer"/> as a PNG: 8-bit RGB (colour type 2), no interlace, every row with filter
/// type 0, the image data one zlib stream in one IDAT chunk.
/// </summary>
/// <remarks>
/// Layout: the 8-byte signature, then chunks of be32 length, 4-byte type, data, be32 CRC-32 over type and data:
/// IHDR (width, height, bit depth 8, colour type 2, compression 0, filter 0, interlace 0), IDAT, IEND.
/// </remarks>
public static class PngWriter
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static void Write(Stream output, FrameBuffer frame)
    {
        output.Write(Signature);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)frame.Width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr[4..], (uint)frame.Height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        ihdr[10] = 0;
        ihdr[11] = 0;
        ihdr[12] = 0;
        WriteChunk(output, "IHDR"u8, ihdr);

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                var row = new byte[1 + (frame.Width * 3)];
                for (int y = 0; y < frame.Height; y++)
                {
                    row[0] = 0;
                    ReadOnlySpan<uint> pixels = frame.Row(y);
                    for (int x = 0; x < pixels.Length; x++)
                    {
                        uint p = pixels[x];
                        row[1 + (x * 3)] = (byte)(p >> 16);
                        row[2 + (x * 3)] = (byte)(p >> 8);
                        row[3 + (x * 3)] = (byte)p;
                    }

                    zlib.Write(row);
                }
            }

            WriteChunk(output, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        }

        WriteChunk(output, "IEND"u8, []);
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Compute(type), data));
        output.Write(word);
    }
}
