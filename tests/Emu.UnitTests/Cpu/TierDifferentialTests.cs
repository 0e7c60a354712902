using Emu.UnitTests.Cpu.TierFuzz;

namespace Emu.UnitTests.Cpu;

/// <summary>
/// Tier 1 and tier 2 agree instruction for instruction: random sequences (<see cref="RandomInstructionSequence"/>) run
/// under both from the same state must leave the same registers, flags, memory, faults and instruction count.
/// The fixed seeds here are the CI batch; <c>./run.sh jit-fuzz N</c> runs N more.
/// </summary>
public sealed class TierDifferentialTests
{
    private const int CiSequences = 4000;

    [Fact]
    public void RandomSequencesAgreeUnderBothTiers()
    {
        using var pair = new TierPair();
        var failures = new List<string>();
        int firstFailure = -1;
        for (int seed = 0; seed < CiSequences && failures.Count < 5; seed++)
        {
            if (pair.Run(seed) is { } difference)
            {
                failures.Add($"seed {seed}: {difference}");
                firstFailure = firstFailure < 0 ? seed : firstFailure;
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures) + $"\nsequence {firstFailure}:\n" + TierPair.Listing(firstFailure));
    }

    [Fact]
    public void TheFuzzerReachesTierTwo()
    {
        // A fuzzer whose code never compiled would agree trivially.
        using var pair = new TierPair();
        for (int seed = 0; seed < 20; seed++)
        {
            pair.Run(seed);
        }

        Assert.True(pair.BlocksCompiled > 20, $"only {pair.BlocksCompiled} blocks compiled over 20 sequences");
    }

    [Fact]
    public void TheFuzzerReachesChaining()
    {
        // Sequences of several blocks must also run compiled block into compiled block, or chaining goes unchecked.
        using var pair = new TierPair();
        for (int seed = 0; seed < 200; seed++)
        {
            pair.Run(seed);
        }

        Assert.True(pair.BlocksChained > 0, "no compiled block chained into another over 200 sequences");
    }
}
