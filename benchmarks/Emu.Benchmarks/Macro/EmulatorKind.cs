namespace Emu.Benchmarks.Macro;

/// <summary>Which emulator a macro run measures: Emu itself, or QEMU's TCG as the reference.</summary>
internal enum EmulatorKind
{
    Emu,
    Qemu,
}
