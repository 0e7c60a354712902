using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// x87 FPU: control/status/tag words, the register stack in double precision, loads and stores of every
/// integer and real size, arithmetic, compares (FCOM → FNSTSW AX → SAHF works: C0/C2/C3 land on CF/PF/ZF),
/// and the environment/state images (X86Cpu.FpuState.cs).
/// Still missing: 80-bit precision (values are doubles), transcendental instructions (FSIN, FPTAN, F2XM1,
/// FYL2X...), FPREM/FXTRACT/FSCALE, BCD loads/stores (FBLD/FBSTP), FCOMI/FCMOV, stack overflow/underflow and
/// precision exceptions, denormal handling and precision control. All exceptions behave as masked, so #MF and
/// the CR0.NE=0 FERR# path are never raised; the FPU instruction/operand pointers read as 0.
/// </summary>
public sealed partial class X86Cpu
{
    private readonly double[] _fpr = new double[8];
    private ushort _fpuControl = 0x037F;
    private ushort _fpuStatus;
    private ushort _fpuTag = 0xFFFF;

    private int FpuTop => (_fpuStatus >> 11) & 7;

    private void FpuReset()
    {
        _fpuControl = 0x037F;
        _fpuStatus = 0;
        _fpuTag = 0xFFFF;
        Array.Clear(_fpr);
    }

    /// <summary>Executes an x87 instruction; false when it is not one this FPU knows (the caller raises #UD).</summary>
    private bool ExecuteFpu(in Instruction ins)
    {
        if (ins.Mnemonic == Mnemonic.Wait)
        {
            if ((_cr0 & (Cr0Mp | Cr0Ts)) == (Cr0Mp | Cr0Ts))
            {
                RaiseFault(ExceptionNm);
            }

            return true;
        }

        if (ins.Code.ToOpCode().IsInstruction == false || !IsFpuMnemonic(ins))
        {
            return false;
        }

        if ((_cr0 & (Cr0Em | Cr0Ts)) != 0)
        {
            RaiseFault(ExceptionNm);
            return true;
        }

        if (ExecuteFpuState(in ins))
        {
            return true;
        }

        switch (ins.Mnemonic)
        {
            case Mnemonic.Fninit:
                FpuReset();
                return true;
            case Mnemonic.Fnstsw:
                WriteOp(in ins, 0, 2, _fpuStatus);
                return true;
            case Mnemonic.Fnstcw:
                WriteOp(in ins, 0, 2, _fpuControl);
                return true;
            case Mnemonic.Fldcw:
                {
                    uint v = ReadOp(in ins, 0, 2);
                    if (_faultVector < 0)
                    {
                        _fpuControl = (ushort)(v | 0x40);
                    }

                    return true;
                }

            case Mnemonic.Fnclex:
                _fpuStatus &= 0x7F00;
                return true;
            case Mnemonic.Fld1:
                FpuPush(1.0);
                return true;
            case Mnemonic.Fldz:
                FpuPush(0.0);
                return true;
            case Mnemonic.Fld:
                return FpuLoad(in ins);
            case Mnemonic.Fild:
                {
                    int size = ins.MemorySize.GetSize();
                    ulong raw = size == 8 ? ((ulong)ReadOp(in ins, 0, 4) | ((ulong)ReadSeg(SegIndex(ins.MemorySegment), EffectiveAddress(in ins) + 4, 4) << 32)) : ReadOp(in ins, 0, size);
                    if (_faultVector < 0)
                    {
                        FpuPush(size == 2 ? (short)raw : size == 4 ? (int)raw : (long)raw);
                    }

                    return true;
                }

            case Mnemonic.Fst:
            case Mnemonic.Fstp:
                return FpuStore(in ins, ins.Mnemonic == Mnemonic.Fstp);
            case Mnemonic.Fistp:
            case Mnemonic.Fist:
                {
                    int size = ins.MemorySize.GetSize();
                    double rounded = FpuRound(St(0));
                    double limit = Math.ScaleB(1.0, size * 8 - 1);

                    // Out of range (or NaN) stores the integer indefinite, as with the invalid exception masked.
                    long v = rounded >= -limit && rounded < limit ? (long)rounded : long.MinValue >> (64 - size * 8);
                    if (size == 8)
                    {
                        int seg = SegIndex(ins.MemorySegment);
                        uint ea = EffectiveAddress(in ins);
                        if (!ProbeWriteSeg(seg, ea, 8))
                        {
                            return true;
                        }

                        WriteSeg(seg, ea, 4, (uint)v);
                        WriteSeg(seg, ea + 4, 4, (uint)(v >> 32));
                    }
                    else
                    {
                        WriteOp(in ins, 0, size, (uint)v);
                    }

                    if (_faultVector < 0 && ins.Mnemonic == Mnemonic.Fistp)
                    {
                        FpuPop();
                    }

                    return true;
                }

            case Mnemonic.Fadd:
            case Mnemonic.Faddp:
            case Mnemonic.Fsub:
            case Mnemonic.Fsubp:
            case Mnemonic.Fsubr:
            case Mnemonic.Fsubrp:
            case Mnemonic.Fmul:
            case Mnemonic.Fmulp:
            case Mnemonic.Fdiv:
            case Mnemonic.Fdivp:
            case Mnemonic.Fdivr:
            case Mnemonic.Fdivrp:
            case Mnemonic.Fiadd:
            case Mnemonic.Fisub:
            case Mnemonic.Fisubr:
            case Mnemonic.Fimul:
            case Mnemonic.Fidiv:
            case Mnemonic.Fidivr:
                return FpuArith(in ins);
            case Mnemonic.Fchs:
                SetSt(0, -St(0));
                return true;
            case Mnemonic.Fabs:
                SetSt(0, Math.Abs(St(0)));
                return true;
            case Mnemonic.Fsqrt:
                SetSt(0, Math.Sqrt(St(0)));
                return true;
            case Mnemonic.Fxch:
                {
                    int i = ins.OpCount > 1 ? ins.Op1Register - Register.ST0 : 1;
                    double t = St(0);
                    SetSt(0, St(i));
                    SetSt(i, t);
                    return true;
                }

            case Mnemonic.Fcom:
            case Mnemonic.Fcomp:
            case Mnemonic.Fcompp:
            case Mnemonic.Fucom:
            case Mnemonic.Fucomp:
            case Mnemonic.Fucompp:
            case Mnemonic.Ftst:
            case Mnemonic.Ficom:
            case Mnemonic.Ficomp:
                return FpuCompare(in ins);

            // P6: CPUID's CMOV with FPU promises FCOMI and FCMOVcc.
            case Mnemonic.Fcomi:
            case Mnemonic.Fcomip:
            case Mnemonic.Fucomi:
            case Mnemonic.Fucomip:
                return FpuCompareToEflags(in ins);
            case Mnemonic.Fcmovb:
            case Mnemonic.Fcmove:
            case Mnemonic.Fcmovbe:
            case Mnemonic.Fcmovu:
            case Mnemonic.Fcmovnb:
            case Mnemonic.Fcmovne:
            case Mnemonic.Fcmovnbe:
            case Mnemonic.Fcmovnu:
                if (FcmovCondition(ins.Mnemonic))
                {
                    SetSt(0, St(ins.Op1Register - Register.ST0));
                }

                return true;
            default:
                RaiseFault(ExceptionUd);
                return true;
        }
    }

    private static bool IsFpuMnemonic(in Instruction ins) =>
        ins.Op0Register.IsST() || ins.Op1Register.IsST() || ins.Mnemonic.ToString().StartsWith('F');

    private double St(int i) => _fpr[(FpuTop + i) & 7];

    private void SetSt(int i, double v) => _fpr[(FpuTop + i) & 7] = v;

    private void FpuPush(double v)
    {
        int top = (FpuTop - 1) & 7;
        _fpuStatus = (ushort)((_fpuStatus & ~0x3800) | (top << 11));
        _fpr[top] = v;
        _fpuTag = (ushort)(_fpuTag & ~(3 << (top * 2)));
    }

    private void FpuPop()
    {
        int top = FpuTop;
        _fpuTag = (ushort)(_fpuTag | (3 << (top * 2)));
        _fpuStatus = (ushort)((_fpuStatus & ~0x3800) | (((top + 1) & 7) << 11));
    }

    private double ReadFpuMemory(in Instruction ins, out bool ok)
    {
        int size = ins.MemorySize.GetSize();
        int seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        double v;
        if (size == 4)
        {
            v = BitConverter.UInt32BitsToSingle(ReadSeg(seg, ea, 4));
        }
        else if (size == 8)
        {
            ulong bits = ReadSeg(seg, ea, 4) | ((ulong)ReadSeg(seg, ea + 4, 4) << 32);
            v = BitConverter.UInt64BitsToDouble(bits);
        }
        else
        {
            v = ReadExtended(seg, ea);
        }

        ok = _faultVector < 0;
        return v;
    }

    private bool FpuLoad(in Instruction ins)
    {
        if (ins.Op0Kind == OpKind.Register)
        {
            FpuPush(St(ins.Op0Register - Register.ST0));
            return true;
        }

        double v = ReadFpuMemory(in ins, out bool ok);
        if (ok)
        {
            FpuPush(v);
        }

        return true;
    }

    private bool FpuStore(in Instruction ins, bool pop)
    {
        double v = St(0);
        if (ins.Op0Kind == OpKind.Register)
        {
            SetSt(ins.Op0Register - Register.ST0, v);
        }
        else
        {
            int size = ins.MemorySize.GetSize();
            int seg = SegIndex(ins.MemorySegment);
            uint ea = EffectiveAddress(in ins);
            if (size == 4)
            {
                WriteSeg(seg, ea, 4, BitConverter.SingleToUInt32Bits((float)v));
            }
            else if (size == 8 && ProbeWriteSeg(seg, ea, 8))
            {
                ulong bits = BitConverter.DoubleToUInt64Bits(v);
                WriteSeg(seg, ea, 4, (uint)bits);
                WriteSeg(seg, ea + 4, 4, (uint)(bits >> 32));
            }
            else if (size == 10)
            {
                WriteExtended(seg, ea, v);
            }
        }

        if (_faultVector < 0 && pop)
        {
            FpuPop();
        }

        return true;
    }

    private bool FpuArith(in Instruction ins)
    {
        double a, b;
        int dst;
        if (ins.OpCount == 1 && ins.Op0Kind == OpKind.Memory)
        {
            a = St(0);
            b = ReadFpuOperand(in ins, out _);
            if (_faultVector >= 0)
            {
                return true;
            }

            dst = 0;
        }
        else if (ins.OpCount == 2)
        {
            dst = ins.Op0Register - Register.ST0;
            a = St(dst);
            b = St(ins.Op1Register - Register.ST0);
        }
        else
        {
            dst = 1;
            a = St(1);
            b = St(0);
        }

        double r = ins.Mnemonic switch
        {
            Mnemonic.Fadd or Mnemonic.Faddp or Mnemonic.Fiadd => a + b,
            Mnemonic.Fsub or Mnemonic.Fsubp or Mnemonic.Fisub => a - b,
            Mnemonic.Fsubr or Mnemonic.Fsubrp or Mnemonic.Fisubr => b - a,
            Mnemonic.Fmul or Mnemonic.Fmulp or Mnemonic.Fimul => a * b,
            Mnemonic.Fdiv or Mnemonic.Fdivp or Mnemonic.Fidiv => a / b,
            _ => b / a,
        };
        SetSt(dst, r);
        if (ins.Mnemonic is Mnemonic.Faddp or Mnemonic.Fsubp or Mnemonic.Fsubrp or Mnemonic.Fmulp or Mnemonic.Fdivp or Mnemonic.Fdivrp)
        {
            FpuPop();
        }

        return true;
    }

    private bool FpuCompare(in Instruction ins)
    {
        double a = St(0);
        double b;
        if (ins.Mnemonic == Mnemonic.Ftst)
        {
            b = 0;
        }
        else if (ins.OpCount >= 1 && ins.Op0Kind == OpKind.Memory)
        {
            b = ReadFpuOperand(in ins, out bool ok);
            if (!ok)
            {
                return true;
            }
        }
        else
        {
            b = St(ins.OpCount >= 2 ? ins.Op1Register - Register.ST0 : ins.OpCount == 1 ? ins.Op0Register - Register.ST0 : 1);
        }

        // C3 C2 C0: greater 000, less 001, equal 100, unordered 111.
        int cc = double.IsNaN(a) || double.IsNaN(b) ? 0x4500 : a > b ? 0 : a < b ? 0x0100 : 0x4000;
        _fpuStatus = (ushort)((_fpuStatus & ~0x4500) | cc);
        int pops = ins.Mnemonic is Mnemonic.Fcomp or Mnemonic.Fucomp or Mnemonic.Ficomp ? 1 : ins.Mnemonic is Mnemonic.Fcompp or Mnemonic.Fucompp ? 2 : 0;
        for (int i = 0; i < pops; i++)
        {
            FpuPop();
        }

        return true;
    }

    /// <summary>FCOMI/FUCOMI(P): ST(0) against ST(i) into ZF, PF, CF (greater 000, less 001, equal 100, unordered 111); OF, SF, AF cleared.</summary>
    private bool FpuCompareToEflags(in Instruction ins)
    {
        double a = St(0), b = St(ins.Op1Register - Register.ST0);
        uint flags = double.IsNaN(a) || double.IsNaN(b) ? FlagZf | FlagPf | FlagCf : a > b ? 0 : a < b ? FlagCf : FlagZf;
        MaterializeFlags();
        _eflags = (_eflags & ~(FlagZf | FlagPf | FlagCf | FlagOf | FlagSf | FlagAf)) | flags;
        if (ins.Mnemonic is Mnemonic.Fcomip or Mnemonic.Fucomip)
        {
            FpuPop();
        }

        return true;
    }

    /// <summary>A memory operand as a double: an m16/m32 integer (FIADD, FICOM …) or an m32/m64/m80 real.</summary>
    private double ReadFpuOperand(in Instruction ins, out bool ok)
    {
        if (ins.MemorySize is MemorySize.Int16 or MemorySize.Int32)
        {
            double v = ins.MemorySize == MemorySize.Int16 ? (short)ReadOp(in ins, 0, 2) : (int)ReadOp(in ins, 0, 4);
            ok = _faultVector < 0;
            return v;
        }

        return ReadFpuMemory(in ins, out ok);
    }

    private bool FcmovCondition(Mnemonic m) => m switch
    {
        Mnemonic.Fcmovb => GetCf(),
        Mnemonic.Fcmove => GetZf(),
        Mnemonic.Fcmovbe => GetCf() || GetZf(),
        Mnemonic.Fcmovu => GetPf(),
        Mnemonic.Fcmovnb => !GetCf(),
        Mnemonic.Fcmovne => !GetZf(),
        Mnemonic.Fcmovnbe => !GetCf() && !GetZf(),
        _ => !GetPf(),
    };
}
