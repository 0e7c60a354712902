namespace Emu.Machine.State;

/// <summary>Device state that cannot be loaded: unknown section or version, a value out of range, short data.</summary>
public sealed class VmStateException(string message, Exception? inner = null) : Exception(message, inner);
