namespace Emu.EndToEndTests.Support;

/// <summary>The channel a <see cref="MigrationPair"/> migrates over.</summary>
public enum MigrationTransport
{
    Tcp,
    Unix,
}
