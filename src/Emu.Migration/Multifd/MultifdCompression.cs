namespace Emu.Migration.Multifd;

/// <summary>
/// QEMU's MultiFDCompression: how a multifd channel compresses its pages. The values are the method's field in a
/// packet's flags (<see cref="MultifdFlags.CompressionMask"/>, shifted by one), as QEMU's MULTIFD_FLAG_*.
/// </summary>
public enum MultifdCompression
{
    /// <summary>Pages go raw (MULTIFD_FLAG_NOCOMP).</summary>
    None = 0,

    /// <summary>One zlib stream per channel, synced at the end of each packet (MULTIFD_FLAG_ZLIB).</summary>
    Zlib = 1,

    /// <summary>One zstd stream per channel, flushed at the end of each packet (MULTIFD_FLAG_ZSTD).</summary>
    Zstd = 2,
}
