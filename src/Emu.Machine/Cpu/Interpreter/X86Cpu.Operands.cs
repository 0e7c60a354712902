using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>Operand access for the generic path: registers, memory (effective address + segment) and immediates of an Iced instruction.</summary>
public sealed partial class X86Cpu
{
    private static readonly byte[] s_codeOperandSize = BuildOperandSizes();

    /// <summary>Operand size the opcode forces (16 or 32), 0 when it has none; from Iced's opcode tables.</summary>
    internal static int CodeOperandSize(Code code) => s_codeOperandSize[(int)code];

    private static byte[] BuildOperandSizes()
    {
        var sizes = new byte[Enum.GetValues<Code>().Length + 1];
        foreach (Code c in Enum.GetValues<Code>())
        {
            if (c == Code.INVALID || c.ToString().StartsWith("DeclareByte", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                OpCodeInfo info = c.ToOpCode();
                sizes[(int)c] = (byte)info.OperandSize;
            }
            catch (ArgumentException)
            {
                // Codes without opcode info (pseudo instructions) keep 0.
            }
        }

        return sizes;
    }

    /// <summary>The operation size in bytes of an instruction whose size follows operand 0 (or 1 when 0 is not sized).</summary>
    internal static int OperandSize(in Instruction ins, int op)
    {
        switch (ins.GetOpKind(op))
        {
            case OpKind.Register:
                return RegSize(ins.GetOpRegister(op));
            case OpKind.Memory:
            case OpKind.MemorySegSI:
            case OpKind.MemorySegESI:
            case OpKind.MemorySegDI:
            case OpKind.MemorySegEDI:
            case OpKind.MemoryESDI:
            case OpKind.MemoryESEDI:
                return ins.MemorySize.GetSize();
            case OpKind.Immediate8:
                return 1;
            case OpKind.Immediate16:
            case OpKind.Immediate8to16:
                return 2;
            default:
                return 4;
        }
    }

    /// <summary>Whether the memory operand uses 32-bit addressing.</summary>
    internal static bool AddressIs32(in Instruction ins)
    {
        Register b = ins.MemoryBase;
        if (b != Register.None)
        {
            return b.IsGPR32();
        }

        Register x = ins.MemoryIndex;
        if (x != Register.None && !x.IsGPR8())
        {
            return x.IsGPR32();
        }

        return ins.MemoryDisplSize == 4;
    }

    /// <summary>The effective address (offset in the segment) of the instruction's memory operand.</summary>
    internal uint EffectiveAddress(in Instruction ins)
    {
        uint ea = ins.MemoryDisplacement32;
        Register b = ins.MemoryBase;
        if (b != Register.None)
        {
            ea += ReadReg(b);
        }

        Register x = ins.MemoryIndex;
        if (x != Register.None)
        {
            ea += ReadReg(x) * (uint)ins.MemoryIndexScale;
        }

        return AddressIs32(in ins) ? ea : ea & 0xFFFF;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int SegIndex(Register seg) => seg - Register.ES;

    /// <summary>Reads operand <paramref name="op"/> (register, memory or immediate) as <paramref name="size"/> bytes.</summary>
    internal uint ReadOp(in Instruction ins, int op, int size)
    {
        switch (ins.GetOpKind(op))
        {
            case OpKind.Register:
                return ReadReg(ins.GetOpRegister(op));
            case OpKind.Memory:
                return ReadSeg(SegIndex(ins.MemorySegment), EffectiveAddress(in ins), size);
            case OpKind.Immediate8:
                return ins.Immediate8;
            case OpKind.Immediate8_2nd:
                return ins.Immediate8_2nd;
            default:
                return (uint)ins.GetImmediate(op) & MaskOf(size);
        }
    }

    /// <summary>Writes operand <paramref name="op"/> (register or memory).</summary>
    internal void WriteOp(in Instruction ins, int op, int size, uint value)
    {
        if (ins.GetOpKind(op) == OpKind.Register)
        {
            WriteReg(ins.GetOpRegister(op), value);
        }
        else
        {
            WriteSeg(SegIndex(ins.MemorySegment), EffectiveAddress(in ins), size, value);
        }
    }

    /// <summary>For read-modify-write: true when the destination is memory that cannot be written (fault raised).</summary>
    internal bool ProbeWriteOp(in Instruction ins, int op, int size) =>
        ins.GetOpKind(op) != OpKind.Memory || ProbeWriteSeg(SegIndex(ins.MemorySegment), EffectiveAddress(in ins), size);
}
