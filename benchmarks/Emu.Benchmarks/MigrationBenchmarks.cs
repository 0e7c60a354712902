using BenchmarkDotNet.Attributes;
using Emu.Machine.Memory;
using Emu.Migration;
using Emu.Migration.Ram;
using Emu.Migration.Stream;

namespace Emu.Benchmarks;

/// <summary>
/// The RAM saver's inner loop: one full pass over 64 MiB (half zero pages, half data) into a discarding stream,
/// and a pass over an all-clean bitmap (the page search alone). Both must be allocation-free.
/// </summary>
[MemoryDiagnoser]
public class MigrationBenchmarks
{
    private const ulong RamBytes = 64UL << 20;
    private RamBlock _block = null!;
    private RamSaver _cleanSaver = null!;
    private MigrationStream _null = null!;

    [GlobalSetup]
    public void Setup()
    {
        _block = new RamBlock("pc.ram", RamBytes);
        for (int p = 0; p < _block.PageCount; p += 2)
        {
            _block.Page(p).Fill((byte)p);
        }

        // A saver whose one pass is done: every later iterate only scans clean bitmaps.
        _null = MigrationStream.ForWriting(Stream.Null);
        _cleanSaver = new RamSaver([_block], new MigrationStats(), null);
        _cleanSaver.Setup(_null);
        _cleanSaver.Complete(_null);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cleanSaver.Cleanup();
        _block.Dispose();
    }

    [Benchmark]
    public long FullPass()
    {
        var stats = new MigrationStats();
        var s = MigrationStream.ForWriting(Stream.Null);
        var ram = new RamSaver([_block], stats, null);
        ram.Setup(s);
        ram.Complete(s);
        ram.Cleanup();
        return stats.NormalPages;
    }

    [Benchmark]
    public bool CleanScan() => _cleanSaver.Iterate(_null);
}
