using System.Diagnostics;
using Emu.Machine.Cpu.Cache;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// The bounded set of blocks that have tier 2 code (QEMU's code_gen_buffer, flushed when full; here the oldest
/// compiled block is dropped instead): a ring of at most <see cref="Capacity"/> blocks. Dropping a block's code
/// sends it back to tier 1 (it may compile again when hot); code no block refers to is collected with its
/// <see cref="System.Reflection.Emit.DynamicMethod"/>, so a guest that rewrites code forever keeps memory flat.
/// vCPU thread only.
/// </summary>
internal sealed class CompiledCodeCache
{
    private const int CompileTimeSamples = 4096;

    private readonly DecodedBlock?[] _ring;
    private readonly long[] _compileTicks = new long[CompileTimeSamples];
    private int _next;

    public CompiledCodeCache(int capacity)
    {
        Capacity = Math.Max(1, capacity);
        _ring = new DecodedBlock?[Capacity];
    }

    public int Capacity { get; }

    /// <summary>Blocks compiled since creation.</summary>
    public long Compiled { get; private set; }

    /// <summary>Compiled blocks dropped to make room.</summary>
    public long Evicted { get; private set; }

    /// <summary>Gives <paramref name="block"/> its code, dropping the oldest compiled block when the cache is full.</summary>
    public void Add(DecodedBlock block, CompiledBlock code, long compileTicks)
    {
        DecodedBlock? oldest = _ring[_next];
        if (oldest != null)
        {
            oldest.Compiled = null;
            oldest.WholeRuns = 0;
            Evicted++;
        }

        _ring[_next] = block;
        _next = (_next + 1) % Capacity;
        _compileTicks[Compiled % CompileTimeSamples] = compileTicks;
        Compiled++;
        block.Compiled = code;
    }

    /// <summary>Median and 99th percentile compile time per block in microseconds over the last compiles (0 when none).</summary>
    public (double MedianUs, double P99Us) CompileTimes()
    {
        int n = (int)Math.Min(Compiled, CompileTimeSamples);
        if (n == 0)
        {
            return (0, 0);
        }

        long[] sorted = _compileTicks[..n];
        Array.Sort(sorted);
        double us = 1e6 / Stopwatch.Frequency;
        return (sorted[n / 2] * us, sorted[Math.Min(n - 1, (int)(n * 0.99))] * us);
    }
}
