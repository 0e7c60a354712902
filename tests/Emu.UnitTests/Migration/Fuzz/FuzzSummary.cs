using System.Text;

namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>The counts of a fuzz run: verdicts overall and per mutation kind, the failures, the slowest load.</summary>
internal sealed class FuzzSummary
{
    private readonly Dictionary<StreamMutationKind, int[]> _byKind = [];

    public int Refused { get; private set; }

    public int Loaded { get; private set; }

    public List<(StreamMutant Mutant, MutantOutcome Outcome)> Failures { get; } = [];

    public int Total => Refused + Loaded + Failures.Count;

    public TimeSpan SlowestLoad { get; private set; }

    public long MostAllocatedBytes { get; private set; }

    public void Add(StreamMutant mutant, MutantOutcome outcome)
    {
        switch (outcome.Verdict)
        {
            case MutantVerdict.Refused:
                Refused++;
                break;
            case MutantVerdict.Loaded:
                Loaded++;
                break;
            default:
                Failures.Add((mutant, outcome));
                break;
        }

        if (!_byKind.TryGetValue(mutant.Kind, out int[]? counts))
        {
            _byKind[mutant.Kind] = counts = new int[3];
        }

        counts[(int)outcome.Verdict]++;
        SlowestLoad = outcome.Elapsed > SlowestLoad ? outcome.Elapsed : SlowestLoad;
        MostAllocatedBytes = Math.Max(MostAllocatedBytes, outcome.AllocatedBytes);
    }

    /// <summary>Per kind: refused / loaded / failures, one line each.</summary>
    public string ByKind()
    {
        var text = new StringBuilder();
        foreach ((StreamMutationKind kind, int[] c) in _byKind.OrderBy(k => k.Key))
        {
            text.AppendLine($"  {kind,-18} refused {c[0],6}  loaded {c[1],6}  failures {c[2],4}");
        }

        return text.ToString();
    }

    public string FailureReport(int max = 10)
    {
        var text = new StringBuilder();
        foreach ((StreamMutant m, MutantOutcome o) in Failures.Take(max))
        {
            text.AppendLine($"{m}: {o.Detail}");
        }

        return text.ToString();
    }
}
