using Emu.Machine.Cpu.Cache;
using Emu.Machine.Cpu.Translation;

namespace Emu.UnitTests.Cpu.Translation;

public sealed class FlagLivenessTests
{
    private static MicroOp Op(MicroOpKind kind, ShiftKind shift = ShiftKind.Shl) => new() { Kind = kind, B = (byte)shift };

    private static MicroOpKind[] Kinds(MicroOp[] ops) => [.. ops.Select(o => o.Kind)];

    [Fact]
    public void TheSpeedLoopKeepsOnlyTheFlagsThatReachAReaderAFaultOrTheEnd()
    {
        // add eax,ecx; mov edx,[esi]; xor edx,eax; mov [esi+4],edx; rol ebx,3; add ebx,edx; sub edi,ebx; and edx,0xFF; dec ecx; jnz
        MicroOp[] ops =
        [
            Op(MicroOpKind.AddRegReg), Op(MicroOpKind.MovRegMem), Op(MicroOpKind.XorRegReg), Op(MicroOpKind.MovMemReg),
            Op(MicroOpKind.ShiftRegImm, ShiftKind.Rol), Op(MicroOpKind.AddRegReg), Op(MicroOpKind.SubRegReg),
            Op(MicroOpKind.AndRegImm), Op(MicroOpKind.DecReg), Op(MicroOpKind.Jcc),
        ];

        Assert.Equal(
            [
                MicroOpKind.AddRegReg, MicroOpKind.MovRegMem, MicroOpKind.XorRegReg, MicroOpKind.MovMemReg,
                MicroOpKind.ShiftRegImmNoFlags, MicroOpKind.AddRegRegNoFlags, MicroOpKind.SubRegRegNoFlags,
                MicroOpKind.AndRegImm, MicroOpKind.DecReg, MicroOpKind.Jcc,
            ],
            Kinds(FlagLiveness.DropDeadFlags(ops)));
        Assert.Equal(MicroOpKind.AddRegReg, ops[5].Kind);
    }

    [Fact]
    public void CompareAndTestWithDeadFlagsDoNothingAndMovesLetLivenessThrough()
    {
        MicroOp[] ops = [Op(MicroOpKind.CmpRegReg), Op(MicroOpKind.MovRegImm), Op(MicroOpKind.Lea), Op(MicroOpKind.TestRegImm), Op(MicroOpKind.XorRegReg)];
        Assert.Equal(
            [MicroOpKind.Nop, MicroOpKind.MovRegImm, MicroOpKind.Lea, MicroOpKind.Nop, MicroOpKind.XorRegReg],
            Kinds(FlagLiveness.DropDeadFlags(ops)));
    }

    [Fact]
    public void PartialWritersKeepWhatTheyPassOnAlive()
    {
        // inc keeps CF, so the add before it stays exact while inc's own flags are live.
        MicroOp[] live = [Op(MicroOpKind.AddRegImm), Op(MicroOpKind.IncReg)];
        Assert.Same(live, FlagLiveness.DropDeadFlags(live));

        // A shift sets every flag: the rotate and inc before it, and what flowed through them, are dead.
        MicroOp[] dead = [Op(MicroOpKind.OrRegReg), Op(MicroOpKind.IncReg), Op(MicroOpKind.ShiftRegImm, ShiftKind.Ror), Op(MicroOpKind.ShiftRegImm, ShiftKind.Sar)];
        Assert.Equal(
            [MicroOpKind.OrRegRegNoFlags, MicroOpKind.IncRegNoFlags, MicroOpKind.ShiftRegImmNoFlags, MicroOpKind.ShiftRegImm],
            Kinds(FlagLiveness.DropDeadFlags(dead)));
    }

    [Fact]
    public void AnythingThatMayFaultOrIsGenericKeepsTheFlagsBeforeItExact()
    {
        foreach (MicroOpKind barrier in (MicroOpKind[])[MicroOpKind.MovRegMem, MicroOpKind.AluMemReg, MicroOpKind.PushReg, MicroOpKind.Generic])
        {
            MicroOp[] ops = [Op(MicroOpKind.SubRegImm), Op(barrier), Op(MicroOpKind.AddRegReg), Op(MicroOpKind.XorRegImm)];
            Assert.Equal(
                [MicroOpKind.SubRegImm, barrier, MicroOpKind.AddRegRegNoFlags, MicroOpKind.XorRegImm],
                Kinds(FlagLiveness.DropDeadFlags(ops)));
        }
    }
}
