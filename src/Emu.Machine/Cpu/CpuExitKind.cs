namespace Emu.Machine.Cpu;

/// <summary>Why <see cref="X86Cpu.Run"/> returned.</summary>
public enum CpuExitKind
{
    /// <summary>The instruction budget was spent.</summary>
    BudgetExhausted,

    /// <summary>The CPU is in HLT and no interrupt can wake it yet.</summary>
    Halted,

    /// <summary><see cref="X86Cpu.RequestExit"/> was called.</summary>
    ExitRequested,

    /// <summary>Triple fault (or another unrecoverable state): see <see cref="X86Cpu.ShutdownReason"/>.</summary>
    Shutdown,

    /// <summary>A debugger's breakpoint was reached or its single step done; the CPU is at an instruction boundary.</summary>
    DebuggerStop,
}
