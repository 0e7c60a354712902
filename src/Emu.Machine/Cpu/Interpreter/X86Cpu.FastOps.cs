using Emu.Machine.Cpu.Cache;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>Lowering of Iced instructions to micro-ops, and the fast handlers that run them.</summary>
public sealed partial class X86Cpu
{
    /// <summary>Translates one instruction to its micro-op (<see cref="MicroOpKind.Generic"/> when no fast form fits).</summary>
    private MicroOp Lower(in Instruction ins) => new() { Kind = MicroOpKind.Generic, Length = (byte)ins.Length };

    /// <summary>Runs a fast micro-op; false to fall back to the generic path.</summary>
    private bool ExecuteFast(ref MicroOp op)
    {
        _ = op;
        return false;
    }
}
