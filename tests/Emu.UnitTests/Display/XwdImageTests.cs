using System.Buffers.Binary;

namespace Emu.UnitTests.Display;

public sealed class XwdImageTests
{
    /// <summary>
    /// A 3x2 ZPixmap as Xvfb writes it at depth 24: 32 or packed 24 bits per pixel, rows padded to 12 bytes,
    /// TrueColor masks.
    /// </summary>
    private static byte[] BuildXwd(bool msbFirst, int bitsPerPixel = 32)
    {
        const int headerSize = 100 + 8;
        const int width = 3, height = 2, bytesPerLine = 12;
        int bytesPerPixel = bitsPerPixel / 8;
        var xwd = new byte[headerSize + (2 * 12) + (bytesPerLine * height)];
        uint[] header =
        [
            headerSize, 7, 2, 24, width, height, 0, msbFirst ? 1u : 0u, 32, 0, 32, (uint)bitsPerPixel, bytesPerLine, 4,
            0xFF0000, 0x00FF00, 0x0000FF, 8, 256, 2, width, height, 0, 0, 0,
        ];
        for (int i = 0; i < header.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(xwd.AsSpan(i * 4), header[i]);
        }

        "root\0\0\0\0"u8.CopyTo(xwd.AsSpan(100));
        uint[] pixels = [0x112233, 0x445566, 0x778899, 0xFFFFFF, 0x000000, 0xABCDEF];
        for (int i = 0; i < pixels.Length; i++)
        {
            Span<byte> at = xwd.AsSpan(headerSize + 24 + ((i / width) * bytesPerLine) + ((i % width) * bytesPerPixel), bytesPerPixel);
            for (int b = 0; b < bytesPerPixel; b++)
            {
                at[msbFirst ? bytesPerPixel - 1 - b : b] = (byte)(pixels[i] >> (8 * b));
            }
        }

        return xwd;
    }

    [Theory]
    [InlineData(false, 32)]
    [InlineData(true, 32)]
    [InlineData(false, 24)]
    public void ReadsATrueColorZPixmap(bool msbFirst, int bitsPerPixel)
    {
        var image = XwdImage.Read(BuildXwd(msbFirst, bitsPerPixel));
        Assert.Equal((3, 2), (image.Width, image.Height));
        Assert.Equal(new uint[] { 0x112233, 0x445566, 0x778899, 0xFFFFFF, 0x000000, 0xABCDEF }, image.Pixels);
    }

    [Fact]
    public void RefusesAnXyPixmap()
    {
        byte[] xwd = BuildXwd(false);
        BinaryPrimitives.WriteUInt32BigEndian(xwd.AsSpan(8), 1);
        var e = Assert.Throws<InvalidDataException>(() => XwdImage.Read(xwd));
        Assert.StartsWith("xwd: version 7, format 1", e.Message);
    }

    [Fact]
    public void RefusesATruncatedFile()
    {
        byte[] xwd = BuildXwd(false);
        Assert.Throws<InvalidDataException>(() => XwdImage.Read(xwd[..^4]));
    }
}
