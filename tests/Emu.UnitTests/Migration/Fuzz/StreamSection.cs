namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>One whole section of a savevm stream, from its type byte through its footer: [Start, End).</summary>
internal readonly record struct StreamSection(int Start, int End, string IdStr, bool IsDevice)
{
    public int Length => End - Start;
}
