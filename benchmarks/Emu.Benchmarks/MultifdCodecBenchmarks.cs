using BenchmarkDotNet.Attributes;
using Emu.Machine.Memory;
using Emu.Migration.Multifd;

namespace Emu.Benchmarks;

/// <summary>
/// One multifd channel's codec over 16 MiB of ab guest pages (one non-zero byte in each 4 KiB page), in packets of
/// 128 pages as the channels send them: the sender's compression and the receiver's decompression straight into
/// guest memory, each per MiB of pages. A receiver slower than its sender is where a multifd switchover's tail goes
/// (the destination still decoding after the source has sent the last packet).
/// </summary>
public class MultifdCodecBenchmarks
{
    private const ulong RamBytes = 16UL << 20;
    private const int PagesPerPacket = 128;
    private RamBlock _source = null!;
    private RamBlock _destination = null!;
    private ulong[] _offsets = null!;
    private byte[][] _packets = null!;

    [Params(MultifdCompression.Zstd, MultifdCompression.Zlib)]
    public MultifdCompression Compression { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = new RamBlock("pc.ram", RamBytes);
        _destination = new RamBlock("pc.ram", RamBytes);
        for (int p = 0; p < _source.PageCount; p++)
        {
            _source.Page(p)[0] = (byte)(p | 1);
            _destination.Page(p)[0] = 0;
        }

        _offsets = new ulong[_source.PageCount];
        for (int p = 0; p < _offsets.Length; p++)
        {
            _offsets[p] = (ulong)p << RamBlock.PageShift;
        }

        // The receiver's input: the packets one compressor made, in order (its stream spans them all).
        using var compressor = new MultifdPageCompressor(Compression, 1);
        var packets = new List<byte[]>();
        for (int first = 0; first < _offsets.Length; first += PagesPerPacket)
        {
            if (!compressor.TryCompress(_source, _offsets.AsSpan(first, PagesPerPacket), out ReadOnlySpan<byte> data))
            {
                throw new InvalidOperationException("ab pages did not compress");
            }

            packets.Add(data.ToArray());
        }

        _packets = [.. packets];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _source.Dispose();
        _destination.Dispose();
    }

    [Benchmark(OperationsPerInvoke = (int)(RamBytes >> 20))]
    public int Compress()
    {
        using var compressor = new MultifdPageCompressor(Compression, 1);
        int bytes = 0;
        for (int first = 0; first < _offsets.Length; first += PagesPerPacket)
        {
            compressor.TryCompress(_source, _offsets.AsSpan(first, PagesPerPacket), out ReadOnlySpan<byte> data);
            bytes += data.Length;
        }

        return bytes;
    }

    [Benchmark(OperationsPerInvoke = (int)(RamBytes >> 20))]
    public void Decompress()
    {
        using var decompressor = new MultifdPageDecompressor(Compression, 0);
        int page = 0;
        for (int i = 0; i < _packets.Length; i++)
        {
            decompressor.Feed(_packets[i], (ulong)i);
            for (int k = 0; k < PagesPerPacket; k++, page++)
            {
                decompressor.ReadPage(_destination.Page(page), (ulong)i);
            }
        }
    }
}
