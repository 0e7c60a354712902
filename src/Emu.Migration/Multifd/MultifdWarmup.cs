using Emu.Machine.Memory;
using Emu.Migration.Precopy;
using Emu.Migration.Stream;

namespace Emu.Migration.Multifd;

/// <summary>
/// The multifd part of the JIT warm-ups (<see cref="SetupWarmup"/> on a source, the incoming warm-up on a
/// destination): the channels' code and each compression library's, which otherwise compile when a migration opens
/// its channels. Cold, opening four zstd channels took 60 ms of Emu's setup (QEMU's: 4 ms). One packet of two
/// pages goes through zlib and zstd and back, so the libraries' own paths compile, not only Emu's methods.
/// </summary>
internal static class MultifdWarmup
{
    private static readonly Type[] ChannelPath =
    [
        typeof(MultifdSender), typeof(MultifdSendChannel), typeof(MultifdReceiver), typeof(MultifdRecvChannel),
        typeof(MultifdPageCompressor), typeof(MultifdPageDecompressor), typeof(PacketOutputBuffer), typeof(PacketInputBuffer),
        typeof(MultifdPacketHeader), typeof(MultifdInitPacket), typeof(MultifdPages),
    ];

    /// <summary>Compiles the channel path and runs a packet through every compression both ways; returns the methods prepared.</summary>
    public static int Warm()
    {
        int prepared = JitWarmup.Prepare(ChannelPath);
        using var block = new RamBlock("multifd-warmup", 2 * RamBlock.PageSize);
        block.Page(1).Fill(0x5A);
        ulong[] offsets = [0, RamBlock.PageSize];
        Span<byte> page = stackalloc byte[RamBlock.PageSize];
        foreach (MultifdCompression kind in new[] { MultifdCompression.Zstd, MultifdCompression.Zlib })
        {
            using var compressor = new MultifdPageCompressor(kind, 1);
            using var decompressor = new MultifdPageDecompressor(kind, 0);
            try
            {
                if (compressor.TryCompress(block, offsets, out ReadOnlySpan<byte> compressed))
                {
                    decompressor.Feed(compressed, 0);
                    decompressor.ReadPage(page, 0);
                    decompressor.ReadPage(page, 0);
                }
            }
            catch (Exception e) when (e is MigrationStreamException or IOException or ZstdSharp.ZstdException)
            {
                // Only a warm-up: a library that fails here fails again, where it counts, in a real migration.
            }
        }

        return prepared;
    }
}
