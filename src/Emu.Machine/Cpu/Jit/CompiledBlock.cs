using Emu.Machine.Cpu.Cache;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// A block compiled by tier 2: runs <paramref name="block"/> from EIP <paramref name="start"/> exactly as tier 1's
/// whole run would, looping on itself while a run of it still fits before <paramref name="end"/> (instructions
/// retired); returns how many instructions of the last run completed, with EIP and the registers written back.
/// </summary>
internal delegate int CompiledBlock(X86Cpu cpu, DecodedBlock block, uint start, long end);
