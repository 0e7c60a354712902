namespace Emu.Benchmarks.Macro;

/// <summary>
/// A macro benchmark run that could not be measured (an emulator would not start, died, or did not reach a
/// point in time); the harness reports it in its table and goes on with the next run.
/// </summary>
internal sealed class MacroBenchmarkException(string message, Exception? inner = null) : Exception(message, inner);
