using Emu.UnitTests.Migration.Fuzz;

namespace Emu.UnitTests.Migration;

/// <summary>
/// Issue 15's stream fuzzer in CI: a fixed run seed, a few hundred mutants of a real snapshot of the a-b guest,
/// each fed to a fresh destination. Every one must be refused with one clean error line or load and run; never
/// an internal error, a hang, or unbounded allocation. <c>./run.sh fuzz N SEED</c> runs the same thing at length.
/// Alone in its collection so the allocation each load is charged with is its own.
/// </summary>
[Collection(nameof(StreamFuzzTests))]
[CollectionDefinition(nameof(StreamFuzzTests), DisableParallelization = true)]
public sealed class StreamFuzzTests(StreamFuzzTests.SeededFuzzer seeded) : IClassFixture<StreamFuzzTests.SeededFuzzer>
{
    private const int RunSeed = 15;
    private const int Mutants = 300;

    private readonly StreamFuzzer _fuzzer = seeded.Fuzzer;

    /// <summary>One seed snapshot for the class: saving it runs the guest and a migration.</summary>
    public sealed class SeededFuzzer : IDisposable
    {
        internal StreamFuzzer Fuzzer { get; } = new(FuzzGuest.KernelPath(AppContext.BaseDirectory), RunSeed);

        public void Dispose() => Fuzzer.Dispose();
    }

    [Fact]
    public void EveryMutantIsRefusedWithOneCleanLineOrLoadsAndRuns()
    {
        FuzzSummary summary = _fuzzer.Run(0, Mutants);
        Assert.True(summary.Failures.Count == 0,
            $"{summary.Failures.Count} of {Mutants} mutants (run seed {RunSeed}) failed; reproduce one with ./run.sh fuzz --only INDEX {RunSeed}:\n{summary.FailureReport()}\n{summary.ByKind()}");
        // Both endings occur, or the oracle (or the mutator) is not doing its job.
        Assert.True(summary.Refused > Mutants / 2, $"only {summary.Refused} refused:\n{summary.ByKind()}");
        Assert.True(summary.Loaded > 0, $"nothing loaded:\n{summary.ByKind()}");
    }

    [Fact]
    public void TheSeedLoadsAndIsTheSameBytesEveryTime()
    {
        MutantOutcome seed = _fuzzer.LoadSeed();
        Assert.True(seed.Verdict == MutantVerdict.Loaded, seed.Detail);
        using var again = new StreamFuzzer(FuzzGuest.KernelPath(AppContext.BaseDirectory), RunSeed);
        Assert.Equal(_fuzzer.Seed, again.Seed);
        Assert.Equal(_fuzzer.Mutant(123).Bytes, again.Mutant(123).Bytes);
    }

    [Fact]
    public void TheSeedHoldsEveryDeviceSectionAndItsRamRecords()
    {
        SnapshotLayout layout = _fuzzer.Layout;
        Assert.Contains(layout.Sections, s => s.IdStr == "ram");
        foreach (string device in new[] { "globalstate", "cpu", "i8254", "serial", "emu-downtime" })
        {
            Assert.Contains(layout.Sections, s => s.IsDevice && s.IdStr == device);
        }

        Assert.NotEmpty(layout.PageData);
    }

    [Fact]
    public void EveryMutationKindDamagesTheSeed()
    {
        var seen = new HashSet<StreamMutationKind>();
        for (int i = 0; i < Mutants; i++)
        {
            StreamMutant m = _fuzzer.Mutant(i);
            seen.Add(m.Kind);
            Assert.False(m.Bytes.AsSpan().SequenceEqual(_fuzzer.Seed), $"{m} left the seed as it was");
        }

        Assert.Equal(Enum.GetValues<StreamMutationKind>().Length, seen.Count);
    }

    [Theory]
    [InlineData("savevm: unknown section 'x' instance 0 at stream offset 0x10", true)]
    [InlineData("migration: internal error: Index was outside the bounds of the array.", false)]
    [InlineData("savevm: unknown section '\n\u001b[31m' instance 0", false)]
    [InlineData("Unhandled exception. System.OverflowException", false)]
    [InlineData("", false)]
    public void AnErrorLineIsCleanOnlyWhenOnePrintablePrefixedLineThatIsNoInternalError(string line, bool clean) =>
        Assert.Equal(clean, MutantLoader.CleanErrorLine(line));
}
