using System.Buffers.Binary;
using System.Text;
using Emu.Display;

namespace Emu.UnitTests.Display;

public sealed class PngWriterTests
{
    [Fact]
    public void Crc32MatchesTheKnownAnswer()
    {
        // The CRC-32 check value of "123456789" (ITU-T V.42 / PNG).
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(Crc32.Compute("IENDabc"u8), Crc32.Append(Crc32.Compute("IEND"u8), "abc"u8));
    }

    [Fact]
    public void IendChunkHasTheSpecCrc()
    {
        byte[] png = Encode(new FrameBuffer(1, 1));
        // Every PNG ends with the same 12 bytes: length 0, "IEND", CRC 0xAE426082.
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82 }, png[^12..]);
    }

    [Fact]
    public void PixelsSurviveWriteAndDecode()
    {
        var frame = new FrameBuffer(37, 11);
        var random = new Random(7);
        for (int i = 0; i < frame.Pixels.Length; i++)
        {
            frame.Pixels[i] = (uint)random.Next() & 0x00FFFFFF;
        }

        byte[] png = Encode(frame);
        Assert.Equal("IHDR", Encoding.ASCII.GetString(png, 12, 4));
        Assert.Equal(37u, BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)));
        FrameBuffer back = PngImage.Read(png);
        Assert.Equal((37, 11), (back.Width, back.Height));
        Assert.Equal(frame.Pixels, back.Pixels);
    }

    [Fact]
    public void CorruptedChunkIsDetected()
    {
        byte[] png = Encode(new FrameBuffer(4, 4));
        png[20] ^= 1;
        Assert.Throws<InvalidDataException>(() => PngImage.Read(png));
    }

    [Fact]
    public void ScreenDumpWritesPngAndPpm()
    {
        var frame = new FrameBuffer(3, 2);
        frame[2, 1] = 0x123456;
        string dir = Directory.CreateTempSubdirectory("emu-screendump").FullName;
        try
        {
            ScreenDump.Write(Path.Combine(dir, "a.png"), frame, ScreenDumpFormat.Png);
            Assert.Equal(frame.Pixels, PngImage.Read(File.ReadAllBytes(Path.Combine(dir, "a.png"))).Pixels);

            ScreenDump.Write(Path.Combine(dir, "a.ppm"), frame);
            byte[] ppm = File.ReadAllBytes(Path.Combine(dir, "a.ppm"));
            byte[] header = "P6\n3 2\n255\n"u8.ToArray();
            Assert.Equal(header, ppm[..header.Length]);
            Assert.Equal(new byte[] { 0x12, 0x34, 0x56 }, ppm[^3..]);
            Assert.False(File.Exists(Path.Combine(dir, "a.ppm.tmp")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(null, ScreenDumpFormat.Ppm)]
    [InlineData("png", ScreenDumpFormat.Png)]
    [InlineData("ppm", ScreenDumpFormat.Ppm)]
    public void FormatNamesAreQmps(string? name, ScreenDumpFormat expected)
    {
        Assert.True(ScreenDump.TryParseFormat(name, out ScreenDumpFormat f));
        Assert.Equal(expected, f);
        Assert.False(ScreenDump.TryParseFormat("jpeg", out _));
    }

    private static byte[] Encode(FrameBuffer frame)
    {
        var ms = new MemoryStream();
        PngWriter.Write(ms, frame);
        return ms.ToArray();
    }
}
