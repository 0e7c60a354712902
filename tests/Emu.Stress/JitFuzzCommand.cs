using System.Diagnostics;
using System.Globalization;
using Emu.UnitTests.Cpu.TierFuzz;

namespace Emu.Stress;

/// <summary>
/// <c>jit-fuzz [N] [FIRST]</c>: the tier 1 / tier 2 differential fuzzer at length — N random instruction sequences
/// (default 100,000) from seed FIRST (default 1,000,000, past the unit test's fixed seeds), each run under both tiers
/// from the same state. Prints progress, every difference with the failing sequence's listing, the count, and exits 1
/// on any difference.
/// </summary>
internal static class JitFuzzCommand
{
    public static int Run(string[] args)
    {
        int count = args.Length >= 1 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        int first = args.Length >= 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        using var pair = new TierPair();
        var clock = Stopwatch.StartNew();
        int failures = 0;
        for (int i = 0; i < count; i++)
        {
            int seed = first + i;
            if (pair.Run(seed) is { } difference)
            {
                failures++;
                Console.WriteLine($"DIFFERENCE seed {seed}: {difference}");
                Console.Write(TierPair.Listing(seed));
            }

            if ((i + 1) % 10_000 == 0)
            {
                Console.WriteLine($"jit-fuzz: {i + 1} sequences, {clock.Elapsed.TotalSeconds:F0} s");
            }
        }

        Console.WriteLine($"jit-fuzz: {count} sequences (seeds {first}..{first + count - 1}) in {clock.Elapsed.TotalSeconds:F1} s, "
            + $"{pair.BlocksCompiled} blocks compiled by tier 2, differences {failures}");
        return failures == 0 ? 0 : 1;
    }
}
