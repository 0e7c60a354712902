using System.Runtime.InteropServices;

namespace Emu.Machine.Cpu.Cache;

/// <summary>
/// One pre-decoded instruction: the handler to run and its operands resolved at translation time, so the
/// hot loop reads a small struct instead of Iced's <c>Instruction</c>. <see cref="MicroOpKind.Generic"/> runs
/// the Iced instruction at the same index through the full interpreter.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MicroOp
{
    public MicroOpKind Kind;

    /// <summary>Instruction length in bytes.</summary>
    public byte Length;

    /// <summary>Destination register index (0-7) or ALU selector, by kind.</summary>
    public byte A;

    /// <summary>Source register index (0-7), by kind.</summary>
    public byte B;

    /// <summary>Memory base register index, <see cref="X86Cpu.NoRegister"/> for none.</summary>
    public byte Base;

    /// <summary>Memory index register index, <see cref="X86Cpu.NoRegister"/> for none.</summary>
    public byte Index;

    /// <summary>log2 of the index scale.</summary>
    public byte Scale;

    /// <summary>Segment register index (ES..GS).</summary>
    public byte Seg;

    /// <summary>Byte offset of the instruction from the start of its block (EIP is kept only at block edges).</summary>
    public ushort Offset;

    /// <summary>Displacement, or a branch offset relative to the next instruction.</summary>
    public uint Disp;

    /// <summary>Immediate operand.</summary>
    public uint Imm;
}
