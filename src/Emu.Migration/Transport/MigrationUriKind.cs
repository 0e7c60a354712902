namespace Emu.Migration.Transport;

/// <summary>The transports of a migration URI.</summary>
public enum MigrationUriKind
{
    /// <summary><c>tcp:HOST:PORT</c></summary>
    Tcp,

    /// <summary><c>unix:PATH</c></summary>
    Unix,

    /// <summary><c>file:PATH</c>: a snapshot file written by migrate, restored by -incoming.</summary>
    File,

    /// <summary><c>defer</c> (incoming only): wait for QMP migrate-incoming.</summary>
    Defer,
}
