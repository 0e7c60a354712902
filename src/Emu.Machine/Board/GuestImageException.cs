namespace Emu.Machine.Board;

/// <summary>A kernel or firmware image that cannot be loaded; the message names the file and what is wrong.</summary>
public sealed class GuestImageException(string message) : Exception(message);
