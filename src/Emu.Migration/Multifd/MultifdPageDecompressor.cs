using System.IO.Compression;
using Emu.Migration.Stream;
using IoStream = System.IO.Stream;

namespace Emu.Migration.Multifd;

/// <summary>
/// A receive channel's decompression, the mirror of <see cref="MultifdPageCompressor"/>: one zlib or zstd stream
/// per channel, fed each packet's compressed bytes and read page by page straight into guest memory. Data that
/// does not decode, or that decodes to fewer bytes than the packet's pages, is refused.
/// </summary>
internal sealed class MultifdPageDecompressor : IDisposable
{
    private readonly MultifdCompression _kind;
    private readonly int _channel;

    // Room for a whole compressed packet beside the few bytes the last one may have left.
    private readonly PacketInputBuffer _input = new(2 * MultifdPacketHeader.MaxDataBytes);
    private IoStream _stream;

    public MultifdPageDecompressor(MultifdCompression kind, int channel)
    {
        if (kind == MultifdCompression.None)
        {
            throw new ArgumentException("multifd: no decompressor for multifd-compression none", nameof(kind));
        }

        _kind = kind;
        _channel = channel;
        _stream = Open();
    }

    /// <summary>Hands over the compressed bytes of packet <paramref name="packetNum"/>.</summary>
    public void Feed(ReadOnlySpan<byte> compressed, ulong packetNum)
    {
        if (!_input.TryAppend(compressed))
        {
            throw MultifdPacketHeader.Refuse(_channel, $"packet {packetNum}: {compressed.Length} compressed bytes after {_input.Unread} undecoded ones overflow the {_kind.ToQmp()} input");
        }
    }

    /// <summary>Decodes the next page of packet <paramref name="packetNum"/> into <paramref name="page"/>.</summary>
    public void ReadPage(Span<byte> page, ulong packetNum)
    {
        try
        {
            _stream.ReadExactly(page);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ZstdSharp.ZstdException)
        {
            throw MultifdPacketHeader.Refuse(_channel, $"packet {packetNum}: corrupt {_kind.ToQmp()} data: {e.Message}");
        }
    }

    /// <summary>After a raw packet: the sender started a new stream, so does the receiver.</summary>
    public void Restart()
    {
        _stream.Dispose();
        _input.Clear();
        _stream = Open();
    }

    private IoStream Open() => _kind == MultifdCompression.Zlib
        ? new ZLibStream(_input, CompressionMode.Decompress, leaveOpen: true)
        : new ZstdSharp.DecompressionStream(_input, checkEndOfStream: false, leaveOpen: true);

    public void Dispose() => _stream.Dispose();
}
