namespace Emu.Machine.Cpu.Cache;

/// <summary>The shift or rotate of a <see cref="MicroOpKind.ShiftRegImm"/> micro-op.</summary>
internal enum ShiftKind : byte
{
    Rol,
    Ror,
    Shl,
    Shr,
    Sar,
}
