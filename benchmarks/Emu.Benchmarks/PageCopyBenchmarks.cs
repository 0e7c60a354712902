using BenchmarkDotNet.Attributes;
using Emu.Machine.Memory;
using Emu.Migration.Ram;

namespace Emu.Benchmarks;

/// <summary>
/// A destination placing 256 MiB of arriving pages (4 KiB each, from a 1 MiB stream buffer that stays in cache)
/// into guest memory already mapped by an earlier pass: an ordinary copy against the streaming-store copy the RAM
/// loader uses.
/// </summary>
public class PageCopyBenchmarks
{
    private const ulong RamBytes = 256UL << 20;
    private const int BufferBytes = 1 << 20;
    private RamBlock _ram = null!;
    private byte[] _buffer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ram = new RamBlock("pc.ram", RamBytes);
        _buffer = new byte[BufferBytes];
        Random.Shared.NextBytes(_buffer);
        for (int p = 0; p < _ram.PageCount; p++)
        {
            _ram.Page(p)[0] = 1;
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _ram.Dispose();

    [Benchmark(Baseline = true)]
    public void OrdinaryCopy()
    {
        for (int p = 0; p < _ram.PageCount; p++)
        {
            _buffer.AsSpan((p * RamBlock.PageSize) & (BufferBytes - 1), RamBlock.PageSize).CopyTo(_ram.Page(p));
        }
    }

    [Benchmark]
    public void StreamingCopy()
    {
        for (int p = 0; p < _ram.PageCount; p++)
        {
            PageCopy.Streaming(_buffer.AsSpan((p * RamBlock.PageSize) & (BufferBytes - 1), RamBlock.PageSize), _ram.Page(p));
        }

        PageCopy.Fence();
    }
}
