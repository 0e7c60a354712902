namespace Emu.Machine.Cpu;

/// <summary>
/// Switches that choose CPU code paths, in one place so tests can force each path.
/// </summary>
/// <param name="InterpreterOnly">Never use a compiling tier (the only tier today).</param>
/// <param name="MaxBlockInstructions">Most instructions decoded into one block.</param>
/// <param name="FastOps">Translate common instruction forms into specialised micro-ops; false runs every instruction through the generic Iced-driven path.</param>
public sealed record CpuOptions(bool InterpreterOnly = true, int MaxBlockInstructions = 64, bool FastOps = true)
{
    public static CpuOptions Default { get; } = new();
}
