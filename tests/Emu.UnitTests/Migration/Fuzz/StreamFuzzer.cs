namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// A fuzz run: builds the seed snapshot, makes mutants 0 … N-1 of it for a run seed, loads each into a fresh
/// destination and counts the verdicts. The unit test runs a few hundred; <c>./run.sh fuzz N SEED</c> runs many.
/// </summary>
internal sealed class StreamFuzzer : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("emu-fuzz-").FullName;
    private readonly StreamMutator _mutator;
    private readonly MutantLoader _loader;

    public StreamFuzzer(string kernelPath, int runSeed)
    {
        byte[] kernel = File.ReadAllBytes(kernelPath);
        Seed = SeedSnapshot.Build(kernel, _directory);
        _mutator = new StreamMutator(Seed, runSeed);
        _loader = new MutantLoader(kernel, _directory);
    }

    public byte[] Seed { get; }

    public SnapshotLayout Layout => _mutator.Layout;

    /// <summary>The seed itself, undamaged: it must load (else every refusal below proves nothing).</summary>
    public MutantOutcome LoadSeed() => _loader.Load(new StreamMutant(-1, StreamMutationKind.BitFlip, "none (the seed)", Seed));

    public StreamMutant Mutant(int index) => _mutator.Make(index);

    /// <summary>Mutants [first, first + count): each is made, loaded and reported to <paramref name="each"/>.</summary>
    public FuzzSummary Run(int first, int count, Action<StreamMutant, MutantOutcome>? each = null)
    {
        var summary = new FuzzSummary();
        for (int i = first; i < first + count; i++)
        {
            StreamMutant mutant = _mutator.Make(i);
            MutantOutcome outcome = _loader.Load(mutant);
            summary.Add(mutant, outcome);
            each?.Invoke(mutant, outcome);
        }

        return summary;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
