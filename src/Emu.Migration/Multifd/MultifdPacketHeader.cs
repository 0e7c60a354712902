using System.Buffers.Binary;
using Emu.Migration.Stream;

namespace Emu.Migration.Multifd;

/// <summary>
/// The header of every multifd packet (QEMU 7.2 MultiFDPacket_t), big-endian, always <see cref="Size"/> bytes
/// (QEMU reads a fixed packet_len: the header and room for <see cref="PageSlots"/> offsets):
/// <code>
/// offset size meaning
///   0     4   magic 0x11223344
///   4     4   version 1
///   8     4   flags (<see cref="MultifdFlags"/>)
///  12     4   pages_alloc: offset slots in this packet, 128
///  16     4   normal_pages: pages that follow, ≤ pages_alloc
///  20     4   next_packet_size: bytes of page data after the header (raw: normal_pages × 4096)
///  24     8   packet_num, counted over all channels
///  32    32   reserved, zero
///  64   256   the RAMBlock's idstr, NUL-terminated (empty in a packet without pages)
/// 320  8×128  the pages' offsets in the block, normal_pages of them used
/// </code>
/// Then next_packet_size bytes: the pages in offset order, raw or compressed.
/// </summary>
public readonly record struct MultifdPacketHeader(MultifdFlags Flags, uint NormalPages, uint NextPacketSize, ulong PacketNum, int IdStrLength)
{
    /// <summary>QEMU MULTIFD_PACKET_SIZE / page size: 512 KiB of pages at most per packet.</summary>
    public const int PageSlots = 128;

    public const int IdStrOffset = 64, IdStrField = 256, OffsetsOffset = IdStrOffset + IdStrField;

    public const int Size = OffsetsOffset + (8 * PageSlots);

    /// <summary>The most page data a packet carries: <see cref="PageSlots"/> raw pages.</summary>
    public const int MaxDataBytes = PageSlots * RamSaverPageSize;

    private const int RamSaverPageSize = Emu.Machine.Memory.RamBlock.PageSize;

    public MultifdCompression Compression => (MultifdCompression)((uint)(Flags & MultifdFlags.CompressionMask) >> 1);

    /// <summary>QEMU multifd_send_fill_packet into <paramref name="dst"/> (<see cref="Size"/> bytes), unused slots zero.</summary>
    public void Write(Span<byte> dst, ReadOnlySpan<byte> idStr, ReadOnlySpan<ulong> offsets)
    {
        dst = dst[..Size];
        dst.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(dst, MultifdInitPacket.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(dst[4..], MultifdInitPacket.Version);
        BinaryPrimitives.WriteUInt32BigEndian(dst[8..], (uint)Flags);
        BinaryPrimitives.WriteUInt32BigEndian(dst[12..], PageSlots);
        BinaryPrimitives.WriteUInt32BigEndian(dst[16..], NormalPages);
        BinaryPrimitives.WriteUInt32BigEndian(dst[20..], NextPacketSize);
        BinaryPrimitives.WriteUInt64BigEndian(dst[24..], PacketNum);
        idStr.CopyTo(dst[IdStrOffset..]);
        for (int i = 0; i < (int)NormalPages; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(dst[(OffsetsOffset + (8 * i))..], offsets[i]);
        }
    }

    /// <summary>
    /// QEMU multifd_recv_unfill_packet's checks that need no RAMBlock: magic, version, flags, page counts, the data
    /// size and the idstr's terminator. Blocks and offsets are checked by the caller, against its blocks.
    /// </summary>
    public static MultifdPacketHeader Read(ReadOnlySpan<byte> src, int channel, MultifdCompression expected)
    {
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(src);
        if (magic != MultifdInitPacket.Magic)
        {
            throw Refuse(channel, $"received packet magic {magic:x} and expected magic {MultifdInitPacket.Magic:x}");
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(src[4..]);
        if (version != MultifdInitPacket.Version)
        {
            throw Refuse(channel, $"received packet version {version} and expected version {MultifdInitPacket.Version}");
        }

        var flags = (MultifdFlags)BinaryPrimitives.ReadUInt32BigEndian(src[8..]);
        ulong packetNum = BinaryPrimitives.ReadUInt64BigEndian(src[24..]);
        uint pagesAlloc = BinaryPrimitives.ReadUInt32BigEndian(src[12..]);
        uint normal = BinaryPrimitives.ReadUInt32BigEndian(src[16..]);
        uint nextSize = BinaryPrimitives.ReadUInt32BigEndian(src[20..]);
        if ((flags & ~MultifdFlags.Known) != 0)
        {
            throw Refuse(channel, $"packet {packetNum}: unknown flags 0x{(uint)(flags & ~MultifdFlags.Known):x}");
        }

        var header = new MultifdPacketHeader(flags, normal, nextSize, packetNum, 0);
        if (header.Compression != expected)
        {
            throw Refuse(channel, $"packet {packetNum}: flags received 0x{(uint)flags:x} flags expected 0x{(uint)expected << 1:x} (multifd-compression {expected.ToQmp()})");
        }

        if (pagesAlloc > PageSlots)
        {
            throw Refuse(channel, $"packet {packetNum}: received packet with {pagesAlloc} pages and expected maximum pages are {PageSlots}");
        }

        if (normal > pagesAlloc)
        {
            throw Refuse(channel, $"packet {packetNum}: received packet with {normal} pages and expected maximum pages are {pagesAlloc}");
        }

        uint rawBytes = normal * (uint)RamSaverPageSize;
        bool raw = expected == MultifdCompression.None || (flags & MultifdFlags.Uncompressed) != 0;
        if (raw ? nextSize != rawBytes : (nextSize > rawBytes || (normal == 0) != (nextSize == 0)))
        {
            throw Refuse(channel, $"packet {packetNum}: {nextSize} bytes of page data for {normal} {(raw ? "raw" : "compressed")} pages, expected {(raw ? $"{rawBytes}" : $"1 to {rawBytes}")}");
        }

        int idLength = src.Slice(IdStrOffset, IdStrField).IndexOf((byte)0);
        if (idLength < 0)
        {
            throw Refuse(channel, $"packet {packetNum}: ram block name is not NUL-terminated");
        }

        return header with { IdStrLength = idLength };
    }

    /// <summary>The idstr of a packet read by <see cref="Read"/>.</summary>
    public ReadOnlySpan<byte> IdStr(ReadOnlySpan<byte> packet) => packet.Slice(IdStrOffset, IdStrLength);

    /// <summary>Offset <paramref name="i"/> of a packet (i &lt; <see cref="NormalPages"/>).</summary>
    public static ulong Offset(ReadOnlySpan<byte> packet, int i) => BinaryPrimitives.ReadUInt64BigEndian(packet[(OffsetsOffset + (8 * i))..]);

    internal static MigrationStreamException Refuse(int channel, string what) => new($"multifd: channel {channel}: {what}");
}
