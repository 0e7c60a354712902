using System.Buffers.Binary;
using Emu.Migration.Stream;

namespace Emu.Migration.Multifd;

/// <summary>
/// The first bytes on every multifd connection (QEMU 7.2 MultiFDInit_t), big-endian:
/// <code>
/// offset size meaning
///  0      4   magic 0x11223344
///  4      4   version 1
///  8     16   the VM's uuid (QEMU's -uuid; zero without one, and Emu has none)
/// 24      1   channel id, 0 ≤ id &lt; multifd-channels
/// 25     39   reserved, zero
/// </code>
/// </summary>
public readonly record struct MultifdInitPacket(byte ChannelId)
{
    public const uint Magic = 0x11223344;
    public const uint Version = 1;
    public const int Size = 64;
    private const int UuidOffset = 8, UuidSize = 16, IdOffset = 24;

    public void Write(Span<byte> dst)
    {
        dst[..Size].Clear();
        BinaryPrimitives.WriteUInt32BigEndian(dst, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(dst[4..], Version);
        dst[IdOffset] = ChannelId;
    }

    /// <summary>QEMU multifd_recv_initial_packet: magic, version, uuid and id checked, in its words.</summary>
    public static MultifdInitPacket Read(ReadOnlySpan<byte> src, int channels)
    {
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(src);
        if (magic != Magic)
        {
            throw new MigrationStreamException($"multifd: received packet magic {magic:x} expected {Magic:x}");
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(src[4..]);
        if (version != Version)
        {
            throw new MigrationStreamException($"multifd: received packet version {version} expected {Version}");
        }

        ReadOnlySpan<byte> uuid = src.Slice(UuidOffset, UuidSize);
        if (uuid.IndexOfAnyExcept((byte)0) >= 0)
        {
            throw new MigrationStreamException(
                $"multifd: received uuid '{new Guid(uuid, bigEndian: true)}' and expected uuid '{Guid.Empty}' for channel {src[IdOffset]}");
        }

        byte id = src[IdOffset];
        if (id >= channels)
        {
            throw new MigrationStreamException($"multifd: received channel id {id} is greater than number of channels {channels}");
        }

        return new MultifdInitPacket(id);
    }
}
