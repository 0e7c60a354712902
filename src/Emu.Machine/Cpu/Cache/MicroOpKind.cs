namespace Emu.Machine.Cpu.Cache;

/// <summary>
/// Micro-op handlers of the interpreter's fast path (32-bit operand and address size forms that dominate
/// guest code). Everything else is <see cref="Generic"/>.
/// </summary>
internal enum MicroOpKind : byte
{
    Generic,

    /// <summary>ALU op A (AluKind) r32[dst B?]: dst = reg A... see Interpreter.FastOps for operand roles.</summary>
    AluRegReg32,
    AluRegImm32,
    AluRegMem32,
    AluMemReg32,
    AluMemImm32,
    MovRegReg32,
    MovRegImm32,
    MovRegMem32,
    MovMemReg32,
    MovMemImm32,
    IncReg32,
    DecReg32,
    Jcc,
    Jmp,
    Lea32,
    Nop,
}
