namespace Emu.Migration.Stream;

/// <summary>
/// The migration stream's boundary error: a short read, an I/O failure, or content the destination refuses (unknown
/// section, block or flag, an offset outside guest RAM). The message is one line naming what and the stream offset.
/// </summary>
public sealed class MigrationStreamException(string message, Exception? inner = null) : Exception(message, inner);
