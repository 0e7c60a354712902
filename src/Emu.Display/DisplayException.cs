namespace Emu.Display;

/// <summary>The display could not be opened (no X server, no SDL library): one line for the user.</summary>
public sealed class DisplayException(string message, Exception? inner = null) : Exception(message, inner);
