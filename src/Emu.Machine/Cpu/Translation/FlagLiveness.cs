using Emu.Machine.Cpu.Cache;

namespace Emu.Machine.Cpu.Translation;

/// <summary>
/// Dead-flag elimination over a block's micro-ops (QEMU's liveness pass does the same for its TCG ops): an
/// arithmetic instruction whose flags a later instruction of the block overwrites before anything can read them
/// need not compute them. Only instructions that cannot fault lie between the two, since a fault shows the guest the
/// flags as they were; and the flags are live at the block's end, where the next block or an interrupt may read
/// them. The result is right only for a run of the whole block: a run cut short must use the original micro-ops.
/// </summary>
internal static class FlagLiveness
{
    /// <summary>
    /// The micro-ops with flag-free forms where the flags are dead; <paramref name="ops"/> itself when there are none.
    /// </summary>
    public static MicroOp[] DropDeadFlags(MicroOp[] ops)
    {
        MicroOp[]? result = null;
        bool live = true;
        for (int i = ops.Length - 1; i >= 0; i--)
        {
            MicroOpKind kind = ops[i].Kind;
            switch (Effect(in ops[i]))
            {
                case FlagEffect.WritesAll:
                    if (!live)
                    {
                        (result ??= (MicroOp[])ops.Clone())[i].Kind = WithoutFlags(kind);
                    }

                    live = false;
                    break;
                case FlagEffect.WritesSome:
                    // The flags it keeps flow through it: they are live before it exactly when they are after it.
                    if (!live)
                    {
                        (result ??= (MicroOp[])ops.Clone())[i].Kind = WithoutFlags(kind);
                    }

                    break;
                case FlagEffect.None:
                    break;
                default:
                    live = true;
                    break;
            }
        }

        return result ?? ops;
    }

    private enum FlagEffect
    {
        /// <summary>Reads the flags, may fault, or is not known here: everything before it must be exact.</summary>
        Barrier,

        /// <summary>Cannot fault and leaves the flags alone.</summary>
        None,

        /// <summary>Cannot fault and sets all six arithmetic flags from its operands alone.</summary>
        WritesAll,

        /// <summary>Cannot fault and sets some flags, keeping the others (INC/DEC keep CF, ROL/ROR keep SF/ZF/AF/PF).</summary>
        WritesSome,
    }

    private static FlagEffect Effect(in MicroOp op) => op.Kind switch
    {
        MicroOpKind.AddRegReg or MicroOpKind.AddRegImm or MicroOpKind.SubRegReg or MicroOpKind.SubRegImm
            or MicroOpKind.XorRegReg or MicroOpKind.XorRegImm or MicroOpKind.AndRegReg or MicroOpKind.AndRegImm
            or MicroOpKind.OrRegReg or MicroOpKind.OrRegImm or MicroOpKind.CmpRegReg or MicroOpKind.CmpRegImm
            or MicroOpKind.TestRegReg or MicroOpKind.TestRegImm => FlagEffect.WritesAll,
        MicroOpKind.ShiftRegImm => (ShiftKind)op.B is ShiftKind.Rol or ShiftKind.Ror ? FlagEffect.WritesSome : FlagEffect.WritesAll,
        MicroOpKind.IncReg or MicroOpKind.DecReg => FlagEffect.WritesSome,
        MicroOpKind.MovRegReg or MicroOpKind.MovRegImm or MicroOpKind.Lea or MicroOpKind.Nop => FlagEffect.None,
        _ => FlagEffect.Barrier,
    };

    /// <summary>The flag-free form; CMP and TEST without their flags do nothing.</summary>
    private static MicroOpKind WithoutFlags(MicroOpKind kind) => kind switch
    {
        MicroOpKind.AddRegReg => MicroOpKind.AddRegRegNoFlags,
        MicroOpKind.AddRegImm => MicroOpKind.AddRegImmNoFlags,
        MicroOpKind.SubRegReg => MicroOpKind.SubRegRegNoFlags,
        MicroOpKind.SubRegImm => MicroOpKind.SubRegImmNoFlags,
        MicroOpKind.XorRegReg => MicroOpKind.XorRegRegNoFlags,
        MicroOpKind.XorRegImm => MicroOpKind.XorRegImmNoFlags,
        MicroOpKind.AndRegReg => MicroOpKind.AndRegRegNoFlags,
        MicroOpKind.AndRegImm => MicroOpKind.AndRegImmNoFlags,
        MicroOpKind.OrRegReg => MicroOpKind.OrRegRegNoFlags,
        MicroOpKind.OrRegImm => MicroOpKind.OrRegImmNoFlags,
        MicroOpKind.IncReg => MicroOpKind.IncRegNoFlags,
        MicroOpKind.DecReg => MicroOpKind.DecRegNoFlags,
        MicroOpKind.ShiftRegImm => MicroOpKind.ShiftRegImmNoFlags,
        MicroOpKind.CmpRegReg or MicroOpKind.CmpRegImm or MicroOpKind.TestRegReg or MicroOpKind.TestRegImm => MicroOpKind.Nop,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no flag-free form"),
    };
}
