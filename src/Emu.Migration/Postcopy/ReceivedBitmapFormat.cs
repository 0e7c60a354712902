using System.Buffers.Binary;
using Emu.Migration.Stream;

namespace Emu.Migration.Postcopy;

/// <summary>
/// The received bitmap a destination sends during postcopy recovery (QEMU ramblock_recv_bitmap_send /
/// ram_dirty_bitmap_reload): be64 size in bytes (the page count rounded up to whole 64-bit words), the bitmap as
/// little-endian 64-bit words, then the end mark be64 0x0123456789abcdef.
/// </summary>
public static class ReceivedBitmapFormat
{
    /// <summary>QEMU RAMBLOCK_RECV_BITMAP_ENDING.</summary>
    public const ulong EndMark = 0x0123456789abcdef;

    public static long SizeBytes(int pageCount) => (pageCount + 63) / 64 * 8L;

    public static void Write(MigrationStream s, ReadOnlySpan<ulong> words, int pageCount)
    {
        long size = SizeBytes(pageCount);
        s.WriteU64((ulong)size);
        Span<byte> w = stackalloc byte[8];
        for (int i = 0; i < size / 8; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(w, i < words.Length ? words[i] : 0);
            s.WriteBytes(w);
        }

        s.WriteU64(EndMark);
    }

    /// <summary>Reads and checks a bitmap for a block of <paramref name="pageCount"/> pages; bits past the end are dropped.</summary>
    public static ulong[] Read(MigrationStream s, string idStr, int pageCount)
    {
        long at = s.Position;
        ulong size = s.ReadU64();
        long expected = SizeBytes(pageCount);
        if (size != (ulong)expected)
        {
            throw new MigrationStreamException($"postcopy: ramblock '{idStr}' bitmap size mismatch (0x{size:x} != 0x{expected:x}) at stream offset 0x{at:x}");
        }

        var words = new ulong[expected / 8];
        Span<byte> w = stackalloc byte[8];
        for (int i = 0; i < words.Length; i++)
        {
            s.ReadBytes(w);
            words[i] = BinaryPrimitives.ReadUInt64LittleEndian(w);
        }

        int tail = pageCount & 63;
        if (tail != 0)
        {
            words[^1] &= (1UL << tail) - 1;
        }

        long markAt = s.Position;
        ulong mark = s.ReadU64();
        if (mark != EndMark)
        {
            throw new MigrationStreamException($"postcopy: ramblock '{idStr}' end mark incorrect: 0x{mark:x} at stream offset 0x{markAt:x}");
        }

        return words;
    }
}
