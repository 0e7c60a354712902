namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>One big-endian field of a savevm stream: where it starts, how many bytes, what it holds.</summary>
internal readonly record struct StreamField(int Offset, int Width, StreamFieldKind Kind);
