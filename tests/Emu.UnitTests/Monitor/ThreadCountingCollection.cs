namespace Emu.UnitTests.Monitor;

/// <summary>
/// Tests that count this process's threads by name run alone: another test class serving QMP clients at the same
/// time would add threads of the same name.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThreadCountingCollection
{
    public const string Name = "thread counting";
}
