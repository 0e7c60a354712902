using System.Diagnostics;
using System.Globalization;
using Emu.UnitTests.Migration.Fuzz;

namespace Emu.Stress;

/// <summary>
/// <c>fuzz [N] [SEED]</c>: N mutants (default 10,000) of the a-b guest's snapshot for run seed SEED (default 15,
/// the unit test's), each loaded into a fresh destination; prints progress, the counts per mutation kind and
/// every failure, and exits 1 if there was one. <c>fuzz --only INDEX [SEED]</c> replays one mutant.
/// </summary>
internal static class FuzzCommand
{
    public static int Run(string[] args)
    {
        if (args.Length >= 2 && args[0] == "--only")
        {
            return Only(int.Parse(args[1], CultureInfo.InvariantCulture), args.Length >= 3 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 15);
        }

        int count = args.Length >= 1 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
        int seed = args.Length >= 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
        using var fuzzer = new StreamFuzzer(FuzzGuest.KernelPath(Environment.CurrentDirectory), seed);
        Console.WriteLine($"fuzz: seed snapshot {fuzzer.Seed.Length} bytes, {fuzzer.Layout.Sections.Count} sections, {fuzzer.Layout.Fields.Count} fields; {count} mutants, run seed {seed}");
        var clock = Stopwatch.StartNew();
        FuzzSummary summary = fuzzer.Run(0, count, (mutant, outcome) =>
        {
            if (outcome.Verdict == MutantVerdict.Failure)
            {
                Console.WriteLine($"FAILURE {mutant}: {outcome.Detail}");
            }

            if ((mutant.Index + 1) % 500 == 0)
            {
                Console.WriteLine($"fuzz: {mutant.Index + 1} mutants, {clock.Elapsed.TotalSeconds:F0} s");
            }
        });
        Console.Write(summary.ByKind());
        Console.WriteLine($"fuzz: {summary.Total} mutants in {clock.Elapsed.TotalSeconds:F1} s: refused {summary.Refused}, loaded {summary.Loaded}, failures {summary.Failures.Count}; "
            + $"slowest load {summary.SlowestLoad.TotalMilliseconds:F0} ms, most allocated {summary.MostAllocatedBytes >> 20} MiB");
        return summary.Failures.Count == 0 ? 0 : 1;
    }

    private static int Only(int index, int seed)
    {
        using var fuzzer = new StreamFuzzer(FuzzGuest.KernelPath(Environment.CurrentDirectory), seed);
        FuzzSummary summary = fuzzer.Run(index, 1, (mutant, outcome) =>
            Console.WriteLine($"{mutant}: {outcome.Verdict} in {outcome.Elapsed.TotalMilliseconds:F0} ms, {outcome.AllocatedBytes >> 10} KiB allocated\n{outcome.Detail}"));
        return summary.Failures.Count == 0 ? 0 : 1;
    }
}
