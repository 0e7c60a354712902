using System.Buffers.Binary;
using Emu.Migration.Postcopy;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration;

public class ReturnPathTests
{
    private static byte[] Bytes(Action<MigrationStream> write)
    {
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        write(s);
        s.Flush();
        return ms.ToArray();
    }

    private static ReturnPathMessage ReadOne(byte[] bytes) => ReturnPathMessage.Read(MigrationStream.ForReading(new MemoryStream(bytes)));

    [Fact]
    public void FramingIsTypeLengthPayload()
    {
        Assert.Equal(new byte[] { 0, 2, 0, 4, 0, 0, 0, 7 }, Bytes(s => ReturnPathMessage.Pong(7).Write(s)));
        Assert.Equal(new byte[] { 0, 1, 0, 4, 0, 0, 0, 0 }, Bytes(s => ReturnPathMessage.Shut(0).Write(s)));
        byte[] req = Bytes(s => ReturnPathMessage.ReqPages("pc.ram", 0x5000, 4096).Write(s));
        Assert.Equal(4 + 13 + 6, req.Length);
        Assert.Equal(3, BinaryPrimitives.ReadUInt16BigEndian(req));
        Assert.Equal(19, BinaryPrimitives.ReadUInt16BigEndian(req.AsSpan(2)));
        Assert.Equal(0x5000UL, BinaryPrimitives.ReadUInt64BigEndian(req.AsSpan(4)));
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32BigEndian(req.AsSpan(12)));
        Assert.Equal(6, req[16]);
        Assert.Equal(16, Bytes(s => ReturnPathMessage.ReqPages(null, 0x5000, 4096).Write(s)).Length);
    }

    [Fact]
    public void EveryMessageRoundTrips()
    {
        ReturnPathMessage[] all =
        [
            ReturnPathMessage.Shut(3), ReturnPathMessage.Pong(4), ReturnPathMessage.ReqPages("vga.vram", 0x2000, 4096),
            ReturnPathMessage.ReqPages(null, 0x3000, 8192), ReturnPathMessage.RecvBitmap("pc.ram"), ReturnPathMessage.ResumeAck(),
        ];
        foreach (ReturnPathMessage m in all)
        {
            Assert.Equal(m, ReadOne(Bytes(m.Write)));
        }
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0 }, "RP: Received invalid message 0x0000 length 0x0000 at stream offset 0x0")]
    [InlineData(new byte[] { 0, 9, 0, 4 }, "RP: Received invalid message 0x0009 length 0x0004 at stream offset 0x0")]
    [InlineData(new byte[] { 0, 2, 0, 5, 0, 0, 0, 0, 0 }, "RP: Received 'Pong' message (0x0002) with incorrect length 5 expecting 4 at stream offset 0x0")]
    [InlineData(new byte[] { 0, 4, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0 }, "RP: Received 'ReqPages' message (0x0004) with incorrect length 8 expecting 12 at stream offset 0x0")]
    [InlineData(new byte[] { 0, 3, 2, 1 }, "RP: Received 'ReqPagesId' message (0x0003) with length 513 above 512 at stream offset 0x0")]
    [InlineData(new byte[] { 0, 3, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 2, (byte)'a', (byte)'b' },
        "RP: Req_Page_id with length 14 expecting 15 at stream offset 0x0")]
    public void MalformedMessagesAreRefusedWithQemusText(byte[] bytes, string expected)
    {
        Assert.Equal(expected, Assert.Throws<MigrationStreamException>(() => ReadOne(bytes)).Message);
    }

    [Fact]
    public void TruncatedMessageIsAShortRead()
    {
        var e = Assert.Throws<MigrationStreamException>(() => ReadOne([0, 2, 0, 4, 0, 0]));
        Assert.Equal("stream: unexpected end of stream at offset 0x6, needed 2 more bytes", e.Message);
    }

    [Fact]
    public void CommandRecordsAreFramedAsQemus()
    {
        Assert.Equal(new byte[] { 0x08, 0, 2, 0, 4, 0, 0, 0, 3 }, Bytes(s => MigCommandWriter.SendPing(s, 3)));
        Assert.Equal(new byte[] { 0x08, 0, 1, 0, 0 }, Bytes(MigCommandWriter.SendOpenReturnPath));
        byte[] discard = Bytes(s => MigCommandWriter.SendPostcopyRamDiscard(s, "rom", [(0x1000, 0x2000)]));
        Assert.Equal(new byte[] { 0x08, 0, 6, 0, 22, 0, 3, (byte)'r', (byte)'o', (byte)'m', 0 }, discard[..11]);
        Assert.Equal(0x1000UL, BinaryPrimitives.ReadUInt64BigEndian(discard.AsSpan(11)));
        Assert.Equal(0x2000UL, BinaryPrimitives.ReadUInt64BigEndian(discard.AsSpan(19)));
        Assert.Throws<ArgumentException>(() => Bytes(s => MigCommandWriter.SendPostcopyRamDiscard(s, "rom", new (ulong, ulong)[13])));
        byte[] pkg = Bytes(s => MigCommandWriter.SendPackaged(s, [1, 2, 3]));
        Assert.Equal(new byte[] { 0x08, 0, 7, 0, 4, 0, 0, 0, 3, 1, 2, 3 }, pkg);
    }

    [Fact]
    public void ReceivedBitmapRoundTripsAndChecksSizeAndEndMark()
    {
        ulong[] words = [0x8000_0000_0000_0001, 0x5];
        byte[] bytes = Bytes(s => ReceivedBitmapFormat.Write(s, words, 70));
        Assert.Equal(8 + 16 + 8, bytes.Length);
        Assert.Equal(16UL, BinaryPrimitives.ReadUInt64BigEndian(bytes));
        Assert.Equal(0x01, bytes[8]);
        Assert.Equal(0x80, bytes[15]);
        Assert.Equal(0x0123456789abcdefUL, BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(24)));
        Assert.Equal(words, ReceivedBitmapFormat.Read(MigrationStream.ForReading(new MemoryStream(bytes)), "pc.ram", 70));

        var size = Assert.Throws<MigrationStreamException>(() => ReceivedBitmapFormat.Read(MigrationStream.ForReading(new MemoryStream(bytes)), "pc.ram", 200));
        Assert.Equal("postcopy: ramblock 'pc.ram' bitmap size mismatch (0x10 != 0x20) at stream offset 0x0", size.Message);
        bytes[^1] ^= 0xFF;
        var mark = Assert.Throws<MigrationStreamException>(() => ReceivedBitmapFormat.Read(MigrationStream.ForReading(new MemoryStream(bytes)), "pc.ram", 70));
        Assert.Equal("postcopy: ramblock 'pc.ram' end mark incorrect: 0x123456789abcd10 at stream offset 0x18", mark.Message);
    }
}
