using System.IO.Compression;
using Emu.Machine.Memory;
using IoStream = System.IO.Stream;

namespace Emu.Migration.Multifd;

/// <summary>
/// A send channel's compression (QEMU multifd-zlib.c / multifd-zstd.c send side): one zlib or zstd stream per
/// channel for the whole migration, each packet's pages written into it straight from guest memory and then
/// flushed (zlib's Z_SYNC_FLUSH, zstd's ZSTD_e_flush) so the packet decodes on its own without ending the stream.
/// A packet whose compressed form is not smaller than its raw pages goes raw
/// (<see cref="MultifdFlags.Uncompressed"/>); the stream has already taken those pages into its history, which
/// the receiver will never see, so both ends start a new stream after such a packet.
/// </summary>
/// <remarks>Allocation-free per packet: the stream and its output buffer live as long as the channel; only a raw
/// packet's restart makes a new stream.</remarks>
internal sealed class MultifdPageCompressor : IDisposable
{
    private readonly MultifdCompression _kind;
    private readonly int _level;
    private readonly PacketOutputBuffer _output = new(MultifdPacketHeader.MaxDataBytes);
    private IoStream _stream;

    public MultifdPageCompressor(MultifdCompression kind, int level)
    {
        if (kind == MultifdCompression.None)
        {
            throw new ArgumentException("multifd: no compressor for multifd-compression none", nameof(kind));
        }

        _kind = kind;
        _level = level;
        _stream = Open();
    }

    /// <summary>Packets sent raw because they did not compress.</summary>
    public long UncompressedPackets { get; private set; }

    /// <summary>
    /// Compresses <paramref name="count"/> pages of <paramref name="block"/> at <paramref name="offsets"/>. True with
    /// the packet's data in <paramref name="compressed"/> (valid until the next call); false when the pages are to be
    /// sent raw, the stream already restarted.
    /// </summary>
    public unsafe bool TryCompress(RamBlock block, ReadOnlySpan<ulong> offsets, out ReadOnlySpan<byte> compressed)
    {
        _output.Reset();
        foreach (ulong offset in offsets)
        {
            _stream.Write(new ReadOnlySpan<byte>(block.HostPointer + offset, RamBlock.PageSize));
        }

        _stream.Flush();
        if (_output.Overflowed || _output.Length >= (long)offsets.Length * RamBlock.PageSize)
        {
            UncompressedPackets++;
            _stream.Dispose();
            _stream = Open();
            compressed = default;
            return false;
        }

        compressed = _output.Written;
        return true;
    }

    private IoStream Open()
    {
        IoStream s = _kind == MultifdCompression.Zlib
            ? new ZLibStream(_output, new ZLibCompressionOptions { CompressionLevel = _level }, leaveOpen: true)
            : new ZstdSharp.CompressionStream(_output, _level, leaveOpen: true);

        // Opening may write a header (zlib's two bytes come with the first data); the next packet starts clean.
        _output.Reset();
        return s;
    }

    public void Dispose() => _stream.Dispose();
}
