using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emu.Machine.Cpu.Cache;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// The interpreter's hot loop: one switch over micro-ops per instruction. Fast micro-ops run inline here;
/// <see cref="MicroOpKind.Generic"/> goes to <see cref="ExecuteGeneric"/> with the Iced instruction.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>Runs the first <paramref name="count"/> instructions of a block; returns how many completed.</summary>
    private int Interpret(DecodedBlock block, int count)
    {
        MicroOp[] ops = block.Ops;
        Instruction[] instructions = block.Instructions;
        uint ipMask = _code32 ? 0xFFFF_FFFF : 0xFFFF;
        ref MicroOp op0 = ref MemoryMarshal.GetArrayDataReference(ops);
        for (int i = 0; i < count; i++)
        {
            ref MicroOp op = ref Unsafe.Add(ref op0, i);
            _nextEip = (_eip + op.Length) & ipMask;
            if (op.Kind == MicroOpKind.Generic || !ExecuteFast(ref op))
            {
                ExecuteGeneric(in instructions[i]);
            }

            if (_blockExit)
            {
                if (_faultVector >= 0)
                {
                    return i;
                }

                _eip = _nextEip;
                return i + 1;
            }

            _eip = _nextEip;
        }

        return count;
    }
}
