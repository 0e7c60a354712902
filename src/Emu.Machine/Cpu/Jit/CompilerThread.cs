using System.Collections.Concurrent;
using System.Diagnostics;
using Emu.Machine.Cpu.Cache;
using Serilog;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// Tier 2's compiler thread, one per process (as .NET's own tiered compilation and HotSpot compile hot methods off
/// the thread that runs them): a hot block is queued, the vCPU goes on running it in tier 1, and this thread builds
/// its IL and has the .NET JIT turn it into native code (the JIT, not the IL, is most of a block's compile time: a
/// Linux boot ran twice as long with both on the vCPU thread). The finished code waits in
/// <see cref="DecodedBlock.CompiledInBackground"/> until the vCPU thread next runs the block and installs it.
/// </summary>
internal static class CompilerThread
{
    private static readonly ILogger Log = Serilog.Log.ForContext(typeof(CompilerThread));
    /// <summary>Blocks waiting; bounded so a guest that makes code faster than it compiles cannot grow it.</summary>
    private static readonly BlockingCollection<DecodedBlock> Queue = new(new ConcurrentQueue<DecodedBlock>(), boundedCapacity: 256);
    private static readonly Lazy<Thread> Worker = new(StartWorker);

    /// <summary>
    /// Queues <paramref name="block"/>; its code appears later in <see cref="DecodedBlock.CompiledInBackground"/>.
    /// False when the queue is full (the block should ask again later).
    /// </summary>
    public static bool TryRequest(DecodedBlock block)
    {
        _ = Worker.Value;
        return Queue.TryAdd(block);
    }

    /// <summary>
    /// Builds the block's IL and makes the .NET JIT compile it now (a call with a null CPU returns at once from
    /// compiled code), so neither cost lands on the thread that runs it; the ticks cover both.
    /// </summary>
    public static CompiledBlock CompileNow(DecodedBlock block, out long ticks)
    {
        long t0 = Stopwatch.GetTimestamp();
        CompiledBlock code = BlockCompiler.Compile(block);
        code(null!, block, 0, 0);
        ticks = Stopwatch.GetTimestamp() - t0;
        return code;
    }

    private static Thread StartWorker()
    {
        var thread = new Thread(Work) { IsBackground = true, Name = "tier 2 compiler" };
        thread.Start();
        return thread;
    }

    private static void Work()
    {
        foreach (DecodedBlock block in Queue.GetConsumingEnumerable())
        {
            if (!block.Valid)
            {
                // Its code was overwritten while it waited: nothing will run it again.
                continue;
            }

            try
            {
                CompiledBlock code = CompileNow(block, out long ticks);
                block.CompileTicks = ticks;
                block.CompiledInBackground = code;
            }
            catch (Exception e) when (e is InvalidProgramException or NotSupportedException or InvalidOperationException)
            {
                // A compiler bug must not stop the guest: the block stays in tier 1.
                Log.Warning("tier 2 could not compile the block at {Gpa:x8}, which stays in tier 1: {Error}", block.Key >> 1, e.Message);
            }
        }
    }
}
