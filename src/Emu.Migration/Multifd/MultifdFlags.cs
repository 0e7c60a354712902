namespace Emu.Migration.Multifd;

/// <summary>
/// A multifd packet's flags word (QEMU multifd.h MULTIFD_FLAG_*), plus one bit of Emu's own.
/// <code>
/// bit 0      SYNC          the last packet before a sync point: the receiver stops here until the main channel's
///                          RAM_SAVE_FLAG_MULTIFD_FLUSH
/// bits 1–3   compression   0 none, 1 zlib, 2 zstd (QEMU's MULTIFD_FLAG_NOCOMP/ZLIB/ZSTD; QEMU 9 widened the
///                          field to bits 1–4 for qpl and uadk)
/// bit 15     UNCOMPRESSED  Emu's: on a zlib/zstd channel, this packet's pages did not compress and are sent raw;
///                          both ends restart their compression stream after it
/// </code>
/// </summary>
[Flags]
public enum MultifdFlags : uint
{
    None = 0,
    Sync = 1 << 0,
    CompressionMask = 7 << 1,
    Uncompressed = 1 << 15,

    /// <summary>Every bit a packet may carry.</summary>
    Known = Sync | CompressionMask | Uncompressed,
}
