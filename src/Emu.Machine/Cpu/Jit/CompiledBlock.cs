using Emu.Machine.Cpu.Cache;

namespace Emu.Machine.Cpu.Jit;

/// <summary>
/// A block compiled by tier 2: runs <paramref name="block"/> from EIP <paramref name="start"/> exactly as tier 1's
/// whole run would, looping on itself while a run of it still fits before <paramref name="end"/> (instructions
/// retired), and going on into the next compiled block where the dispatcher would have (chaining); returns how many
/// instructions of the last block's last run completed, with EIP and the registers written back. With a null
/// <paramref name="cpu"/> it returns 0 at once (a call that only makes the .NET JIT compile it).
/// </summary>
internal delegate int CompiledBlock(X86Cpu cpu, DecodedBlock block, uint start, long end);
