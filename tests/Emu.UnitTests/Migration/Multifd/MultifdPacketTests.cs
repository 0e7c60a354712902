using System.Buffers.Binary;
using Emu.Migration.Multifd;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration.Multifd;

/// <summary>The multifd wire format: QEMU 7.2's initial packet and packet header, round trips and refusals.</summary>
public class MultifdPacketTests
{
    [Fact]
    public void SizesAreQemus()
    {
        // QEMU 7.2: sizeof(MultiFDInit_t) and packet_len = sizeof(MultiFDPacket_t) + 8 × (512 KiB / 4 KiB).
        Assert.Equal(64, MultifdInitPacket.Size);
        Assert.Equal(320 + (8 * 128), MultifdPacketHeader.Size);
    }

    [Fact]
    public void InitPacketRoundTrips()
    {
        var bytes = new byte[MultifdInitPacket.Size];
        new MultifdInitPacket(3).Write(bytes);
        Assert.Equal(0x11223344u, BinaryPrimitives.ReadUInt32BigEndian(bytes));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4)));
        Assert.Equal(3, bytes[24]);
        Assert.Equal(new MultifdInitPacket(3), MultifdInitPacket.Read(bytes, channels: 4));
    }

    [Theory]
    [InlineData(0, 0xde, "multifd: received packet magic de223344 expected 11223344")]
    [InlineData(7, 2, "multifd: received packet version 2 expected 1")]
    [InlineData(8, 1, "multifd: received uuid '01000000-0000-0000-0000-000000000000' and expected uuid '00000000-0000-0000-0000-000000000000' for channel 3")]
    [InlineData(24, 4, "multifd: received channel id 4 is greater than number of channels 4")]
    public void InitPacketRefusals(int offset, byte value, string message)
    {
        var bytes = new byte[MultifdInitPacket.Size];
        new MultifdInitPacket(3).Write(bytes);
        bytes[offset] = value;
        var e = Assert.Throws<MigrationStreamException>(() => MultifdInitPacket.Read(bytes, channels: 4));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void HeaderRoundTrips()
    {
        byte[] packet = Packet(MultifdFlags.Sync | Zstd, normal: 3, dataBytes: 999, num: 42);
        MultifdPacketHeader h = MultifdPacketHeader.Read(packet, channel: 1, MultifdCompression.Zstd);
        Assert.Equal(MultifdFlags.Sync | Zstd, h.Flags);
        Assert.Equal(MultifdCompression.Zstd, h.Compression);
        Assert.Equal(3u, h.NormalPages);
        Assert.Equal(999u, h.NextPacketSize);
        Assert.Equal(42ul, h.PacketNum);
        Assert.Equal("pc.ram"u8.ToArray(), h.IdStr(packet).ToArray());
        Assert.Equal([0x1000ul, 0x5000ul, 0x3000ul], [MultifdPacketHeader.Offset(packet, 0), MultifdPacketHeader.Offset(packet, 1), MultifdPacketHeader.Offset(packet, 2)]);
        Assert.Equal(128u, BinaryPrimitives.ReadUInt32BigEndian(packet.AsSpan(12)));
    }

    [Fact]
    public void AnEmptySyncPacketIsAccepted()
    {
        byte[] packet = Packet(MultifdFlags.Sync, normal: 0, dataBytes: 0, num: 0, idStr: "");
        Assert.Equal(0u, MultifdPacketHeader.Read(packet, 0, MultifdCompression.None).NormalPages);
    }

    public static TheoryData<string, Action<byte[]>, MultifdCompression, string> Refusals => new()
    {
        { "magic", p => p[0] = 0xde, MultifdCompression.Zstd, "multifd: channel 2: received packet magic de223344 and expected magic 11223344" },
        { "version", p => p[7] = 9, MultifdCompression.Zstd, "multifd: channel 2: received packet version 9 and expected version 1" },
        { "unknown flag", p => p[9] = 0x01, MultifdCompression.Zstd, "multifd: channel 2: packet 7: unknown flags 0x10000" },
        { "other compression", p => p[11] = (byte)Zlib, MultifdCompression.Zstd, "multifd: channel 2: packet 7: flags received 0x2 flags expected 0x4 (multifd-compression zstd)" },
        { "pages_alloc", p => p[15] = 129, MultifdCompression.Zstd, "multifd: channel 2: packet 7: received packet with 129 pages and expected maximum pages are 128" },
        { "normal_pages", p => { p[15] = 2; p[19] = 3; }, MultifdCompression.Zstd, "multifd: channel 2: packet 7: received packet with 3 pages and expected maximum pages are 2" },
        { "compressed larger than raw", p => BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(20), 3 * 4096 + 1), MultifdCompression.Zstd, "multifd: channel 2: packet 7: 12289 bytes of page data for 3 compressed pages, expected 1 to 12288" },
        { "raw size", p => { p[11] = 0; BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(20), 4096); }, MultifdCompression.None, "multifd: channel 2: packet 7: 4096 bytes of page data for 3 raw pages, expected 12288" },
        { "name", p => p.AsSpan(64, 256).Fill((byte)'x'), MultifdCompression.Zstd, "multifd: channel 2: packet 7: ram block name is not NUL-terminated" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void HeaderRefusals(string what, Action<byte[]> damage, MultifdCompression expected, string message)
    {
        byte[] packet = Packet(Zstd, normal: 3, dataBytes: 999, num: 7);
        damage(packet);
        var e = Assert.Throws<MigrationStreamException>(() => MultifdPacketHeader.Read(packet, channel: 2, expected));
        Assert.True(message == e.Message, $"{what}: {e.Message}");
    }

    private const MultifdFlags Zlib = (MultifdFlags)(1 << 1), Zstd = (MultifdFlags)(2 << 1);

    private static byte[] Packet(MultifdFlags flags, uint normal, uint dataBytes, ulong num, string idStr = "pc.ram")
    {
        var packet = new byte[MultifdPacketHeader.Size];
        new MultifdPacketHeader(flags, normal, dataBytes, num, 0).Write(packet, System.Text.Encoding.ASCII.GetBytes(idStr), [0x1000, 0x5000, 0x3000]);
        return packet;
    }
}
