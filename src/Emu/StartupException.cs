namespace Emu;

/// <summary>
/// Something the user asked for cannot be done at start (a port in use, a missing disk image, a socket directory
/// that does not exist): the message is the whole line <c>emu</c> prints, naming the option and the reason;
/// the exit code is 1, as QEMU's.
/// </summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
