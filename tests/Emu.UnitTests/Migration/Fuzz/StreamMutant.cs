namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>One damaged copy of the seed stream: its index in the run, the damage done (for a report), the bytes.</summary>
internal sealed record StreamMutant(int Index, StreamMutationKind Kind, string Description, byte[] Bytes)
{
    public override string ToString() => $"mutant {Index} ({Kind}: {Description})";
}
