namespace Emu.Machine.Cpu;

/// <summary>
/// Switches that choose CPU code paths, in one place so tests can force each path.
/// </summary>
/// <param name="Jit">Compile hot blocks to IL (tier 2); false interprets every block (tier 1 only).</param>
/// <param name="MaxBlockInstructions">Most instructions decoded into one block.</param>
/// <param name="FastOps">Translate common instruction forms into specialised micro-ops; false runs every instruction through the generic Iced-driven path.</param>
/// <param name="JitThreshold">
/// Whole runs of a block in tier 1 before tier 2 compiles it (0 compiles it before its first run). Compiling one block
/// (its IL, then the .NET JIT) takes about a millisecond, the time tier 1 takes for some 300,000 instructions; on a
/// Linux boot 10,000 runs compile a tenth as many blocks as 1,000 for the same share of instructions in compiled
/// code, and a lower threshold makes code rewritten every few thousand runs slower than tier 1.
/// </param>
/// <param name="JitCacheBlocks">Most compiled blocks kept; the oldest is dropped (back to tier 1) to make room.</param>
/// <param name="JitEveryBlock">Compile every block, 16-bit code and blocks of tier 1 handlers only too (tier 2 then gains
/// nothing on them; tests use it to run tier 2's exits and fallbacks on any code).</param>
/// <param name="JitInBackground">Compile hot blocks on tier 2's compiler thread while tier 1 goes on running them;
/// false compiles on the vCPU thread before the run that reached the threshold (tests use it to know which tier
/// runs when).</param>
public sealed record CpuOptions(bool Jit = true, int MaxBlockInstructions = 64, bool FastOps = true, int JitThreshold = 10_000,
    int JitCacheBlocks = 4096, bool JitEveryBlock = false, bool JitInBackground = true)
{
    public static CpuOptions Default { get; } = new();

    /// <summary>Tier 1 only: the interpreter runs every block.</summary>
    public static CpuOptions InterpreterOnly { get; } = new(Jit: false);
}
