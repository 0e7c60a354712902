using Emu.Machine.Memory;
using Emu.Migration.Multifd;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration.Multifd;

/// <summary>
/// The per-channel zlib/zstd streams: packets decode in order across one stream, a packet that does not compress
/// goes raw and both ends restart, and corrupt data is refused.
/// </summary>
public sealed class MultifdCompressionTests : IDisposable
{
    private const int Pages = 32;
    private readonly SourceAndDestinationRam _ram = new(Pages);

    public void Dispose()
    {
        _ram.Dispose();
    }

    [Theory]
    [InlineData(MultifdCompression.Zlib, 1)]
    [InlineData(MultifdCompression.Zlib, 9)]
    [InlineData(MultifdCompression.Zstd, 1)]
    [InlineData(MultifdCompression.Zstd, 19)]
    public void PacketsDecodeInOrderOnOneStream(MultifdCompression kind, int level)
    {
        using var compressor = new MultifdPageCompressor(kind, level);
        using var decompressor = new MultifdPageDecompressor(kind, channel: 0);
        var random = new Random(5);
        for (ulong packet = 0; packet < 20; packet++)
        {
            FillCompressible(random);
            ulong[] offsets = Offsets(random, random.Next(1, Pages + 1));
            Assert.True(compressor.TryCompress(_ram.Source, offsets, out ReadOnlySpan<byte> data));
            Assert.True(data.Length < offsets.Length * RamBlock.PageSize / 4, $"{data.Length} bytes for {offsets.Length} pages");
            decompressor.Feed(data, packet);
            foreach (ulong offset in offsets)
            {
                decompressor.ReadPage(_ram.Destination.Page((int)(offset >> RamBlock.PageShift)), packet);
            }

            AssertSamePages(offsets);
        }

        Assert.Equal(0, compressor.UncompressedPackets);
    }

    [Theory]
    [InlineData(MultifdCompression.Zlib)]
    [InlineData(MultifdCompression.Zstd)]
    public void APacketThatDoesNotCompressGoesRawAndBothEndsRestart(MultifdCompression kind)
    {
        using var compressor = new MultifdPageCompressor(kind, 1);
        using var decompressor = new MultifdPageDecompressor(kind, channel: 0);
        var random = new Random(9);
        ulong[] offsets = Offsets(random, 8);

        FillCompressible(random);
        Assert.True(compressor.TryCompress(_ram.Source, offsets, out ReadOnlySpan<byte> first));
        decompressor.Feed(first, 0);
        ReadAll(decompressor, offsets, 0);

        foreach (ulong offset in offsets)
        {
            random.NextBytes(_ram.Source.Page((int)(offset >> RamBlock.PageShift)));
        }

        Assert.False(compressor.TryCompress(_ram.Source, offsets, out _));
        Assert.Equal(1, compressor.UncompressedPackets);
        decompressor.Restart();

        FillCompressible(random);
        Assert.True(compressor.TryCompress(_ram.Source, offsets, out ReadOnlySpan<byte> third));
        decompressor.Feed(third, 2);
        ReadAll(decompressor, offsets, 2);
        AssertSamePages(offsets);
    }

    [Theory]
    [InlineData(MultifdCompression.Zlib, "multifd: channel 3: packet 7: corrupt zlib data: ")]
    [InlineData(MultifdCompression.Zstd, "multifd: channel 3: packet 7: corrupt zstd data: ")]
    public void CorruptDataIsRefused(MultifdCompression kind, string prefix)
    {
        using var compressor = new MultifdPageCompressor(kind, 1);
        using var decompressor = new MultifdPageDecompressor(kind, channel: 3);
        var random = new Random(1);
        FillCompressible(random);
        ulong[] offsets = Offsets(random, 16);
        Assert.True(compressor.TryCompress(_ram.Source, offsets, out ReadOnlySpan<byte> data));
        byte[] damaged = data.ToArray();
        damaged.AsSpan(0, Math.Min(64, damaged.Length)).Fill(0xa5);
        decompressor.Feed(damaged, 7);
        var e = Assert.Throws<MigrationStreamException>(() => ReadAll(decompressor, offsets, 7));
        Assert.StartsWith(prefix, e.Message);
    }

    [Fact]
    public void TruncatedDataIsRefusedAsCorrupt()
    {
        using var compressor = new MultifdPageCompressor(MultifdCompression.Zstd, 1);
        using var decompressor = new MultifdPageDecompressor(MultifdCompression.Zstd, channel: 0);
        var random = new Random(2);
        FillCompressible(random);
        ulong[] offsets = Offsets(random, 16);
        Assert.True(compressor.TryCompress(_ram.Source, offsets, out ReadOnlySpan<byte> data));
        decompressor.Feed(data[..(data.Length / 2)], 1);
        var e = Assert.Throws<MigrationStreamException>(() => ReadAll(decompressor, offsets, 1));
        Assert.StartsWith("multifd: channel 0: packet 1: corrupt zstd data: ", e.Message);
    }

    private void ReadAll(MultifdPageDecompressor decompressor, ulong[] offsets, ulong packet)
    {
        foreach (ulong offset in offsets)
        {
            decompressor.ReadPage(_ram.Destination.Page((int)(offset >> RamBlock.PageShift)), packet);
        }
    }

    /// <summary>Pages like a guest's: mostly repeated bytes with a few random ones.</summary>
    private void FillCompressible(Random random)
    {
        for (int p = 0; p < Pages; p++)
        {
            Span<byte> page = _ram.Source.Page(p);
            page.Fill((byte)random.Next(256));
            for (int i = 0; i < 16; i++)
            {
                page[random.Next(page.Length)] = (byte)random.Next(256);
            }
        }
    }

    private static ulong[] Offsets(Random random, int count) =>
        [.. Enumerable.Range(0, Pages).OrderBy(_ => random.Next()).Take(count).Select(p => (ulong)p << RamBlock.PageShift)];

    private void AssertSamePages(ulong[] offsets)
    {
        foreach (ulong offset in offsets)
        {
            int page = (int)(offset >> RamBlock.PageShift);
            Assert.True(_ram.SamePage(page), $"page {page} differs");
        }
    }
}
