using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// The generic path: every instruction the fast micro-ops do not cover, dispatched on Iced's mnemonic to the
/// instruction families (Alu, DataMove, Control, String, System, Fpu).
/// </summary>
public sealed partial class X86Cpu
{
    private void ExecuteGeneric(in Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Add: AluBinary(in ins, AluKind.Add); break;
            case Mnemonic.Or: AluBinary(in ins, AluKind.Or); break;
            case Mnemonic.Adc: AluBinary(in ins, AluKind.Adc); break;
            case Mnemonic.Sbb: AluBinary(in ins, AluKind.Sbb); break;
            case Mnemonic.And: AluBinary(in ins, AluKind.And); break;
            case Mnemonic.Sub: AluBinary(in ins, AluKind.Sub); break;
            case Mnemonic.Xor: AluBinary(in ins, AluKind.Xor); break;
            case Mnemonic.Cmp: AluBinary(in ins, AluKind.Cmp); break;
            case Mnemonic.Test: AluBinary(in ins, AluKind.Test); break;
            case Mnemonic.Inc: IncDec(in ins, inc: true); break;
            case Mnemonic.Dec: IncDec(in ins, inc: false); break;
            case Mnemonic.Neg: Neg(in ins); break;
            case Mnemonic.Not: Not(in ins); break;
            case Mnemonic.Mul: MulDiv(in ins, MulDivKind.Mul); break;
            case Mnemonic.Imul: Imul(in ins); break;
            case Mnemonic.Div: MulDiv(in ins, MulDivKind.Div); break;
            case Mnemonic.Idiv: MulDiv(in ins, MulDivKind.Idiv); break;
            case Mnemonic.Rol:
            case Mnemonic.Ror:
            case Mnemonic.Rcl:
            case Mnemonic.Rcr:
            case Mnemonic.Shl:
            case Mnemonic.Sal:
            case Mnemonic.Shr:
            case Mnemonic.Sar:
                Shift(in ins);
                break;
            case Mnemonic.Shld: DoubleShift(in ins, left: true); break;
            case Mnemonic.Shrd: DoubleShift(in ins, left: false); break;
            case Mnemonic.Bt:
            case Mnemonic.Bts:
            case Mnemonic.Btr:
            case Mnemonic.Btc:
                BitTest(in ins);
                break;
            case Mnemonic.Bsf: BitScan(in ins, forward: true); break;
            case Mnemonic.Bsr: BitScan(in ins, forward: false); break;
            case Mnemonic.Daa: DecimalAdjust(subtract: false); break;
            case Mnemonic.Das: DecimalAdjust(subtract: true); break;
            case Mnemonic.Aaa: Aaa(subtract: false); break;
            case Mnemonic.Aas: Aaa(subtract: true); break;
            case Mnemonic.Aam: Aam(ins.Immediate8); break;
            case Mnemonic.Aad: Aad(ins.Immediate8); break;
            case Mnemonic.Xadd: Xadd(in ins); break;
            case Mnemonic.Cmpxchg: Cmpxchg(in ins); break;
            case Mnemonic.Cmpxchg8b: Cmpxchg8b(in ins); break;
            case Mnemonic.Bswap: Bswap(in ins); break;

            case Mnemonic.Mov: Mov(in ins); break;
            case Mnemonic.Movzx: MovExtend(in ins, signed: false); break;
            case Mnemonic.Movsx: MovExtend(in ins, signed: true); break;
            case Mnemonic.Lea: Lea(in ins); break;
            case Mnemonic.Xchg: Xchg(in ins); break;
            case Mnemonic.Xlatb: Xlat(in ins); break;
            case Mnemonic.Cbw: WriteReg(Register.AX, (uint)(short)(sbyte)_gpr[RegEax] & 0xFFFF); break;
            case Mnemonic.Cwde: _gpr[RegEax] = (uint)(short)_gpr[RegEax]; break;
            case Mnemonic.Cwd: WriteReg(Register.DX, (_gpr[RegEax] & 0x8000) != 0 ? 0xFFFFu : 0); break;
            case Mnemonic.Cdq: _gpr[RegEdx] = (_gpr[RegEax] & 0x8000_0000) != 0 ? 0xFFFF_FFFF : 0; break;
            case Mnemonic.Lahf: WriteReg(Register.AH, GetEflags() & 0xFF); break;
            case Mnemonic.Sahf: SetEflags(ReadReg(Register.AH), ArithFlags & 0xFF); break;
            case Mnemonic.Salc: WriteReg(Register.AL, GetCf() ? 0xFFu : 0); break;
            case Mnemonic.Push: PushOp(in ins); break;
            case Mnemonic.Pop: PopOp(in ins); break;
            case Mnemonic.Pusha: Pusha(2); break;
            case Mnemonic.Pushad: Pusha(4); break;
            case Mnemonic.Popa: Popa(2); break;
            case Mnemonic.Popad: Popa(4); break;
            case Mnemonic.Pushf: Pushf(2); break;
            case Mnemonic.Pushfd: Pushf(4); break;
            case Mnemonic.Popf: Popf(2); break;
            case Mnemonic.Popfd: Popf(4); break;
            case Mnemonic.Enter: Enter(in ins); break;
            case Mnemonic.Leave: Leave(in ins); break;
            case Mnemonic.Lds: LoadFarPointer(in ins, SegDs); break;
            case Mnemonic.Les: LoadFarPointer(in ins, SegEs); break;
            case Mnemonic.Lfs: LoadFarPointer(in ins, SegFs); break;
            case Mnemonic.Lgs: LoadFarPointer(in ins, SegGs); break;
            case Mnemonic.Lss: LoadFarPointer(in ins, SegSs); break;

            case Mnemonic.Jmp: Jmp(in ins); break;
            case Mnemonic.Call: Call(in ins); break;
            case Mnemonic.Ret: RetNear(in ins); break;
            case Mnemonic.Retf: RetFar(in ins); break;
            case Mnemonic.Loop:
            case Mnemonic.Loope:
            case Mnemonic.Loopne:
                Loop(in ins);
                break;
            case Mnemonic.Jcxz:
            case Mnemonic.Jecxz:
                Jcxz(in ins);
                break;
            case Mnemonic.Int: SoftwareInterrupt(ins.Immediate8); break;
            case Mnemonic.Int3: SoftwareInterrupt(ExceptionBp); break;
            case Mnemonic.Into:
                if (GetOf())
                {
                    SoftwareInterrupt(ExceptionOf);
                }

                break;
            case Mnemonic.Int1: SoftwareInterrupt(ExceptionDb); break;
            case Mnemonic.Iret: Iret(2); break;
            case Mnemonic.Iretd: Iret(4); break;
            case Mnemonic.Bound: Bound(in ins); break;

            case Mnemonic.Movsb:
            case Mnemonic.Movsw:
            case Mnemonic.Movsd when ins.Code == Code.Movsd_m32_m32:
            case Mnemonic.Cmpsb:
            case Mnemonic.Cmpsw:
            case Mnemonic.Cmpsd when ins.Code == Code.Cmpsd_m32_m32:
            case Mnemonic.Stosb:
            case Mnemonic.Stosw:
            case Mnemonic.Stosd:
            case Mnemonic.Lodsb:
            case Mnemonic.Lodsw:
            case Mnemonic.Lodsd:
            case Mnemonic.Scasb:
            case Mnemonic.Scasw:
            case Mnemonic.Scasd:
            case Mnemonic.Insb:
            case Mnemonic.Insw:
            case Mnemonic.Insd:
            case Mnemonic.Outsb:
            case Mnemonic.Outsw:
            case Mnemonic.Outsd:
                StringOp(in ins);
                break;

            case Mnemonic.In: In(in ins); break;
            case Mnemonic.Out: Out(in ins); break;
            // Without BMI1 and ABM (CPUID says so) a CPU ignores the REP prefix of F3 0F BC/BD and runs BSF/BSR;
            // Linux's bitops emit "rep; bsf" on purpose.
            case Mnemonic.Tzcnt: BitScan(in ins, forward: true); break;
            case Mnemonic.Lzcnt: BitScan(in ins, forward: false); break;

            // 0F 18-0F 1F is the hint-NOP space on a P6: later CPUs put PREFETCHh and CET's ENDBR/RDSSP there.
            case Mnemonic.Prefetchnta:
            case Mnemonic.Prefetcht0:
            case Mnemonic.Prefetcht1:
            case Mnemonic.Prefetcht2:
            case Mnemonic.Reservednop:
            case Mnemonic.Endbr32:
            case Mnemonic.Endbr64:
            case Mnemonic.Rdsspd:
            case Mnemonic.Nop:
            case Mnemonic.Pause:
            case Mnemonic.Wbinvd:
            case Mnemonic.Invd:
                break;
            case Mnemonic.Hlt: Hlt(); break;
            case Mnemonic.Clc: MaterializeFlags(); _eflags &= ~FlagCf; break;
            case Mnemonic.Stc: MaterializeFlags(); _eflags |= FlagCf; break;
            case Mnemonic.Cmc: MaterializeFlags(); _eflags ^= FlagCf; break;
            case Mnemonic.Cld: _eflags &= ~FlagDf; break;
            case Mnemonic.Std: _eflags |= FlagDf; break;
            case Mnemonic.Cli: Cli(); break;
            case Mnemonic.Sti: Sti(); break;
            case Mnemonic.Lgdt:
            case Mnemonic.Lidt:
                LoadDescriptorTable(in ins);
                break;
            case Mnemonic.Sgdt:
            case Mnemonic.Sidt:
                StoreDescriptorTable(in ins);
                break;
            case Mnemonic.Lldt: Lldt(in ins); break;
            case Mnemonic.Ltr: Ltr(in ins); break;
            case Mnemonic.Sldt: StoreSystemSelector(in ins, _ldtr.Selector); break;
            case Mnemonic.Str: StoreSystemSelector(in ins, _tr.Selector); break;
            case Mnemonic.Lmsw: Lmsw(in ins); break;
            case Mnemonic.Smsw: Smsw(in ins); break;
            case Mnemonic.Clts:
                if (CheckCpl0())
                {
                    _cr0 &= ~Cr0Ts;
                }

                break;
            case Mnemonic.Invlpg: Invlpg(in ins); break;
            case Mnemonic.Cpuid: Cpuid(); break;
            case Mnemonic.Rdtsc: Rdtsc(); break;
            case Mnemonic.Rdmsr: Rdmsr(); break;
            case Mnemonic.Wrmsr: Wrmsr(); break;
            case Mnemonic.Lar: LarLsl(in ins, lar: true); break;
            case Mnemonic.Lsl: LarLsl(in ins, lar: false); break;
            case Mnemonic.Verr: Verify(in ins, write: false); break;
            case Mnemonic.Verw: Verify(in ins, write: true); break;
            case Mnemonic.Arpl: Arpl(in ins); break;
            case Mnemonic.Ud0:
            case Mnemonic.Ud1:
            case Mnemonic.Ud2:
                RaiseFault(ExceptionUd);
                break;

            default:
                if (ins.Mnemonic >= Mnemonic.Cmova && ins.Mnemonic <= Mnemonic.Cmovs && IsCmov(ins.Mnemonic))
                {
                    Cmov(in ins);
                }
                else if (IsSetcc(ins.Mnemonic))
                {
                    WriteOp(in ins, 0, 1, Condition(ins.ConditionCode) ? 1u : 0);
                }
                else if (ins.ConditionCode != ConditionCode.None && ins.FlowControl == FlowControl.ConditionalBranch)
                {
                    Jcc(in ins);
                }
                else if (!ExecuteFpu(in ins))
                {
                    Trace.Unimplemented(in ins, _seg[SegCs].Selector, _eip);
                    RaiseFault(ExceptionUd);
                }

                break;
        }
    }

    private static bool IsCmov(Mnemonic m) => m is Mnemonic.Cmova or Mnemonic.Cmovae or Mnemonic.Cmovb or Mnemonic.Cmovbe or Mnemonic.Cmove
        or Mnemonic.Cmovg or Mnemonic.Cmovge or Mnemonic.Cmovl or Mnemonic.Cmovle or Mnemonic.Cmovne or Mnemonic.Cmovno
        or Mnemonic.Cmovnp or Mnemonic.Cmovns or Mnemonic.Cmovo or Mnemonic.Cmovp or Mnemonic.Cmovs;

    private static bool IsSetcc(Mnemonic m) => m is Mnemonic.Seta or Mnemonic.Setae or Mnemonic.Setb or Mnemonic.Setbe or Mnemonic.Sete
        or Mnemonic.Setg or Mnemonic.Setge or Mnemonic.Setl or Mnemonic.Setle or Mnemonic.Setne or Mnemonic.Setno
        or Mnemonic.Setnp or Mnemonic.Setns or Mnemonic.Seto or Mnemonic.Setp or Mnemonic.Sets;
}
