using BenchmarkDotNet.Attributes;
using Emu.Machine.Memory;

namespace Emu.Benchmarks;

/// <summary>
/// The dirty log's two costs: the write barrier on every guest store (with migration logging off and on), and
/// <c>SyncDirtyBitmap</c> over a 1 GiB guest, as the migration thread runs it once per pass.
/// </summary>
[MemoryDiagnoser]
public class DirtyLogBenchmarks
{
    internal const int StoresPerOp = 1 << 20;
    private RamBlock _block = null!;
    private ulong[] _bitmap = null!;
    private int[] _pages = null!;

    [Params(false, true)]
    public bool MigrationLogging { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _block = new RamBlock("pc.ram", 1UL << 30);
        _bitmap = new ulong[(_block.PageCount + 63) / 64];
        if (MigrationLogging)
        {
            _block.DirtyLog.Enable(DirtyClient.Migration);
        }

        // A guest touches a working set much smaller than its RAM; 4096 hot pages, visited at random.
        var rng = new Random(1);
        _pages = new int[StoresPerOp];
        for (int i = 0; i < _pages.Length; i++)
        {
            _pages[i] = rng.Next(4096);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _block.Dispose();

    /// <summary>A million stores, each followed by the barrier. Compare the two MigrationLogging rows.</summary>
    [Benchmark(OperationsPerInvoke = StoresPerOp)]
    public unsafe void StoreWithBarrier()
    {
        byte* host = _block.HostPointer;
        DirtyLog log = _block.DirtyLog;
        int[] pages = _pages;
        for (int i = 0; i < pages.Length; i++)
        {
            int p = pages[i];
            host[(long)p << RamBlock.PageShift] = (byte)i;
            log.MarkPageDirty(p);
        }
    }

    /// <summary>
    /// SyncDirtyBitmap over all 262,144 pages of 1 GiB with every 64th page dirty (4096 pages, one per bitmap
    /// word: the worst spread), including the 4096 barrier calls that dirty them (a few microseconds).
    /// </summary>
    [Benchmark]
    public long Sync1GiB()
    {
        DirtyLog log = _block.DirtyLog;
        for (int p = 0; p < log.PageCount; p += 64)
        {
            log.MarkPageDirty(p);
        }

        return log.Sync(DirtyClient.Migration, _bitmap);
    }
}
