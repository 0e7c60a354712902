namespace Emu.Machine.Cpu.Cache;

/// <summary>
/// Micro-op handlers of the interpreter's fast path: the 32-bit operand and address size forms that dominate
/// guest code. Register numbers are 0-7 (EAX..EDI); memory operands are Seg:[Base + Index &lt;&lt; Scale + Disp].
/// Everything else is <see cref="Generic"/>.
/// </summary>
internal enum MicroOpKind : byte
{
    /// <summary>Run the Iced instruction through the full interpreter.</summary>
    Generic,

    /// <summary>ALU op (AluKind in Imm): reg A ∘= [mem].</summary>
    AluRegMem,

    /// <summary>ALU op (AluKind in Imm): [mem] ∘= reg B.</summary>
    AluMemReg,

    /// <summary>reg A = reg B.</summary>
    MovRegReg,

    /// <summary>reg A = Imm.</summary>
    MovRegImm,

    /// <summary>reg A = [mem].</summary>
    MovRegMem,

    /// <summary>[mem] = reg B.</summary>
    MovMemReg,

    /// <summary>[mem] = Imm.</summary>
    MovMemImm,

    /// <summary>reg A = zero-extended byte [mem].</summary>
    MovzxRegMem8,

    /// <summary>byte [mem] = low byte of reg B.</summary>
    MovMemReg8,

    /// <summary>INC reg A.</summary>
    IncReg,

    /// <summary>DEC reg A.</summary>
    DecReg,

    /// <summary>reg A = effective address.</summary>
    Lea,

    /// <summary>Conditional branch on condition A to next + Disp.</summary>
    Jcc,

    /// <summary>Jump to next + Disp.</summary>
    Jmp,

    /// <summary>PUSH reg A (32-bit stack).</summary>
    PushReg,

    /// <summary>POP reg A (32-bit stack).</summary>
    PopReg,

    /// <summary>CALL next + Disp (32-bit stack).</summary>
    CallRel,

    /// <summary>RET near (32-bit stack).</summary>
    Ret,

    /// <summary>No operation.</summary>
    Nop,

    /// <summary>Shift or rotate (ShiftKind in B) of reg A by Imm (1-31).</summary>
    ShiftRegImm,

    /// <summary>ADD reg A, reg B.</summary>
    AddRegReg,

    /// <summary>ADD reg A, Imm.</summary>
    AddRegImm,

    /// <summary>SUB reg A, reg B.</summary>
    SubRegReg,

    /// <summary>SUB reg A, Imm.</summary>
    SubRegImm,

    /// <summary>XOR reg A, reg B.</summary>
    XorRegReg,

    /// <summary>XOR reg A, Imm.</summary>
    XorRegImm,

    /// <summary>AND reg A, reg B.</summary>
    AndRegReg,

    /// <summary>AND reg A, Imm.</summary>
    AndRegImm,

    /// <summary>OR reg A, reg B.</summary>
    OrRegReg,

    /// <summary>OR reg A, Imm.</summary>
    OrRegImm,

    /// <summary>CMP reg A, reg B.</summary>
    CmpRegReg,

    /// <summary>CMP reg A, Imm.</summary>
    CmpRegImm,

    /// <summary>TEST reg A, reg B.</summary>
    TestRegReg,

    /// <summary>TEST reg A, Imm.</summary>
    TestRegImm,

    // The forms below leave the flags alone: FlagLiveness puts them where a later instruction of the block
    // overwrites the flags before anything can read them, for runs of the whole block only.

    /// <summary>ADD reg A, reg B; flags dead.</summary>
    AddRegRegNoFlags,

    /// <summary>ADD reg A, Imm; flags dead.</summary>
    AddRegImmNoFlags,

    /// <summary>SUB reg A, reg B; flags dead.</summary>
    SubRegRegNoFlags,

    /// <summary>SUB reg A, Imm; flags dead.</summary>
    SubRegImmNoFlags,

    /// <summary>XOR reg A, reg B; flags dead.</summary>
    XorRegRegNoFlags,

    /// <summary>XOR reg A, Imm; flags dead.</summary>
    XorRegImmNoFlags,

    /// <summary>AND reg A, reg B; flags dead.</summary>
    AndRegRegNoFlags,

    /// <summary>AND reg A, Imm; flags dead.</summary>
    AndRegImmNoFlags,

    /// <summary>OR reg A, reg B; flags dead.</summary>
    OrRegRegNoFlags,

    /// <summary>OR reg A, Imm; flags dead.</summary>
    OrRegImmNoFlags,

    /// <summary>INC reg A; flags dead.</summary>
    IncRegNoFlags,

    /// <summary>DEC reg A; flags dead.</summary>
    DecRegNoFlags,

    /// <summary>Shift or rotate reg A by Imm (1-31), kind B; flags dead.</summary>
    ShiftRegImmNoFlags,
}
