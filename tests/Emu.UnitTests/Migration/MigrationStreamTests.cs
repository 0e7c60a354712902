using System.Net.Sockets;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration;

public class MigrationStreamTests
{
    [Fact]
    public void WritesBigEndianAndReadsBack()
    {
        var ms = new MemoryStream();
        var w = MigrationStream.ForWriting(ms);
        w.WriteU8(0xAB);
        w.WriteU16(0x1234);
        w.WriteU32(0xDEADBEEF);
        w.WriteU64(0x0102030405060708);
        w.WriteBytes([9, 8, 7]);
        Assert.Equal(18, w.Position);
        w.Flush();
        Assert.Equal(new byte[] { 0xAB, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 7 }, ms.ToArray());

        var r = MigrationStream.ForReading(new MemoryStream(ms.ToArray()));
        Assert.Equal(0xAB, r.ReadU8());
        Assert.Equal(0x1234, r.ReadU16());
        Assert.Equal(0xDEADBEEFu, r.ReadU32());
        Assert.Equal(0x0102030405060708UL, r.ReadU64());
        Assert.Equal(9, r.PeekU8());
        byte[] tail = new byte[3];
        r.ReadBytes(tail);
        Assert.Equal(new byte[] { 9, 8, 7 }, tail);
        Assert.Equal(-1, r.PeekU8());
        Assert.Equal(18, r.Position);
    }

    [Theory]
    [InlineData(MigrationStream.BufferSize)]
    [InlineData(MigrationStream.RecordBufferSize)]
    public void GetSpanAdvanceCrossesBufferBoundaries(int bufferBytes)
    {
        var ms = new MemoryStream();
        var w = MigrationStream.ForWriting(ms, bufferBytes);
        int pages = bufferBytes / 4096 * 3 + 1;
        for (int i = 0; i < pages; i++)
        {
            w.WriteU8(0x7E);
            Span<byte> s = w.GetSpan(4096);
            s.Fill((byte)i);
            w.Advance(4096);
        }

        w.Flush();
        Assert.Equal(pages * 4097L, ms.Length);
        var r = MigrationStream.ForReading(new MemoryStream(ms.ToArray()), bufferBytes);
        for (int i = 0; i < pages; i++)
        {
            Assert.Equal(0x7E, r.ReadU8());
            Assert.All(r.ReadSpan(4096).ToArray(), b => Assert.Equal((byte)i, b));
        }

        // A span is at most the buffer: a small-buffer stream refuses what a default one would give.
        Assert.Throws<ArgumentOutOfRangeException>(() => MigrationStream.ForWriting(new MemoryStream(), bufferBytes).GetSpan(bufferBytes + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => MigrationStream.ForReading(new MemoryStream(ms.ToArray()), bufferBytes).ReadSpan(bufferBytes + 1));
    }

    [Fact]
    public void TruncatedReadNamesTheOffset()
    {
        var r = MigrationStream.ForReading(new MemoryStream([1, 2, 3, 4, 5, 6]));
        r.ReadU32();
        var e = Assert.Throws<MigrationStreamException>(() => r.ReadU64());
        Assert.Equal("stream: unexpected end of stream at offset 0x6, needed 6 more bytes", e.Message);
    }

    [Fact]
    public void FirstErrorLatchesAndLaterCallsFailFast()
    {
        var r = MigrationStream.ForReading(new MemoryStream([1]));
        Assert.Throws<MigrationStreamException>(() => r.ReadU16());
        Assert.NotNull(r.Error);
        var again = Assert.Throws<MigrationStreamException>(() => r.PeekU8());
        Assert.Equal("stream: unexpected end of stream at offset 0x1, needed 1 more bytes", again.Message);
    }

    [Fact]
    public void WriteFailureLatches()
    {
        var ms = new MemoryStream();
        var w = MigrationStream.ForWriting(ms);
        ms.Dispose();
        w.WriteU32(1);
        var e = Assert.Throws<MigrationStreamException>(w.Flush);
        Assert.StartsWith("stream: write failed at offset 0x0:", e.Message);
        Assert.Throws<MigrationStreamException>(() => w.WriteU8(1));
    }

    [Fact]
    public void RateLimitCountsBytesPerWindow()
    {
        var w = MigrationStream.ForWriting(new MemoryStream());
        Assert.False(w.RateLimitExceeded);
        w.RateLimitMax = 100;
        w.WriteBytes(new byte[100]);
        Assert.False(w.RateLimitExceeded);
        w.WriteU8(0);
        Assert.True(w.RateLimitExceeded);
        w.ResetRateLimit();
        Assert.False(w.RateLimitExceeded);
        w.WriteBytes(new byte[1000]);
        w.RateLimitMax = 0;
        Assert.False(w.RateLimitExceeded);
    }

    [Fact]
    public void CloseFromAnotherThreadUnblocksARead()
    {
        using var pair = new SocketPair();
        var r = MigrationStream.ForReading(new NetworkStream(pair.A, ownsSocket: true));
        Exception? caught = null;
        var t = new Thread(() => caught = Record.Exception(() => r.ReadU64()));
        t.Start();
        Thread.Sleep(50);
        r.Close();
        Assert.True(t.Join(TimeSpan.FromSeconds(5)));
        Assert.IsType<MigrationStreamException>(caught);
    }
}
