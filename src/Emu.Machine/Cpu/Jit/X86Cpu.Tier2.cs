using System.Runtime.CompilerServices;
using Emu.Machine.Cpu.Cache;
using Emu.Machine.Cpu.Jit;

namespace Emu.Machine.Cpu;

/// <summary>
/// Tier 2's place in the CPU: a block tier 1 has run whole <see cref="CpuOptions.JitThreshold"/> times is compiled
/// (<see cref="BlockCompiler"/>) and from then on its whole runs go through the compiled code. Runs cut short
/// (budget, CS limit) and debug single-steps stay in tier 1; 16-bit code has no fast micro-ops and is not compiled.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>Null when tier 2 is off.</summary>
    private CompiledCodeCache? _compiledCode;

    /// <summary>True when hot blocks are compiled (tier 2 on).</summary>
    public bool CompilesBlocks => _compiledCode != null;

    /// <summary>Instructions retired inside compiled blocks (tier 1's in-place help for forms without IL included).</summary>
    private long _retiredCompiled;

    /// <summary>Instructions retired inside tier 2's compiled blocks since creation (a statistic).</summary>
    public long InstructionsRetiredCompiled => _retiredCompiled;

    /// <summary>Times a compiled block went straight into the next compiled block, not back to the dispatcher.</summary>
    private long _blocksChained;

    /// <summary>Compiled-to-compiled block transfers that bypassed the dispatcher since creation (a statistic).</summary>
    public long BlocksChained => _blocksChained;

    /// <summary>Blocks compiled by tier 2 since creation.</summary>
    public long BlocksCompiled => _compiledCode?.Compiled ?? 0;

    /// <summary>Compiled blocks dropped from tier 2's bounded cache.</summary>
    public long BlocksEvicted => _compiledCode?.Evicted ?? 0;

    /// <summary>Median and 99th percentile time to compile one block, in microseconds.</summary>
    public (double MedianUs, double P99Us) CompileTimes() => _compiledCode?.CompileTimes() ?? (0, 0);

    /// <summary>One line for the log: which tiers run.</summary>
    public string TierDescription => _compiledCode != null
        ? $"tier 1 (interpreter) + tier 2 (IL compiler after {_options.JitThreshold} runs, at most {_compiledCode.Capacity} blocks)"
        : "tier 1 only (interpreter; tier 2 off)";

    /// <summary>
    /// The block's tier 2 code when it has become hot enough and its code is ready; null keeps it in tier 1. With
    /// <see cref="CpuOptions.JitInBackground"/> the block is queued to the <see cref="CompilerThread"/> at the threshold
    /// and its code installed on the first run after it is ready; otherwise it is compiled here and now.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private CompiledBlock? CompileWhenHot(DecodedBlock block)
    {
        if (block.CompiledInBackground is { } ready)
        {
            block.CompiledInBackground = null;
            _compiledCode!.Add(block, ready, block.CompileTicks);
            return ready;
        }

        // Counts on past the threshold while the block waits for the compiler thread, so it is queued once.
        if (block.WholeRuns++ != _options.JitThreshold)
        {
            return null;
        }

        if (!_options.JitEveryBlock && ((block.Key & 1) == 0 || !BlockCompiler.IsWorthCompiling(block)))
        {
            // 16-bit code, or nothing but tier 1 handlers: compiled code would only add calls.
            block.WholeRuns = int.MinValue;
            return null;
        }

        if (_options.JitInBackground)
        {
            if (!CompilerThread.TryRequest(block))
            {
                // The compiler is behind: count the block's runs afresh and ask again at the threshold.
                block.WholeRuns = 0;
            }

            return null;
        }

        CompiledBlock code = CompilerThread.CompileNow(block, out long ticks);
        _compiledCode!.Add(block, code, ticks);
        return code;
    }
}
