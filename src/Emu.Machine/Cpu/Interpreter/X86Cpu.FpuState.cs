using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// x87 environment and state images (FNSTENV/FLDENV/FNSAVE/FRSTOR), the 80-bit memory format, constants and
/// rounding (QEMU fpu_helper.c helper_fstenv / helper_fsave / helper_fldt). Registers are doubles, so an 80-bit
/// value keeps 53 bits of mantissa. The last-instruction and last-operand pointers are not tracked and read as 0.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>Executes the instructions of this family; false when <paramref name="ins"/> is not one of them.</summary>
    private bool ExecuteFpuState(in Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Fnstenv:
            case Mnemonic.Fstenv:
                if (StoreFpuEnvironment(in ins, out _, out _))
                {
                    _fpuControl |= 0x3F; // FSTENV masks every exception after storing
                }

                return true;
            case Mnemonic.Fldenv:
                LoadFpuEnvironment(in ins, out _, out _);
                return true;
            case Mnemonic.Fnsave:
            case Mnemonic.Fsave:
                {
                    if (!StoreFpuEnvironment(in ins, out uint regs, out int seg))
                    {
                        return true;
                    }

                    for (int i = 0; i < 8 && _faultVector < 0; i++)
                    {
                        WriteExtended(seg, regs + (uint)(i * 10), St(i));
                    }

                    if (_faultVector < 0)
                    {
                        FpuReset();
                    }

                    return true;
                }

            case Mnemonic.Frstor:
                {
                    Span<double> loaded = stackalloc double[8];
                    if (!ReadFpuEnvironment(in ins, out ushort control, out ushort status, out ushort tag, out uint regs, out int seg))
                    {
                        return true;
                    }

                    for (int i = 0; i < 8; i++)
                    {
                        loaded[i] = ReadExtended(seg, regs + (uint)(i * 10));
                    }

                    if (_faultVector >= 0)
                    {
                        return true;
                    }

                    _fpuControl = control;
                    _fpuStatus = status;
                    _fpuTag = tag;
                    for (int i = 0; i < 8; i++)
                    {
                        SetSt(i, loaded[i]);
                    }

                    return true;
                }

            case Mnemonic.Fldpi: FpuPush(Math.PI); return true;
            case Mnemonic.Fldl2e: FpuPush(1.4426950408889634); return true;
            case Mnemonic.Fldl2t: FpuPush(3.3219280948873622); return true;
            case Mnemonic.Fldlg2: FpuPush(0.3010299956639812); return true;
            case Mnemonic.Fldln2: FpuPush(0.6931471805599453); return true;
            case Mnemonic.Frndint: SetSt(0, FpuRound(St(0))); return true;
            case Mnemonic.Fincstp: SetFpuTop(FpuTop + 1); return true;
            case Mnemonic.Fdecstp: SetFpuTop(FpuTop - 1); return true;
            case Mnemonic.Ffree:
                _fpuTag = (ushort)(_fpuTag | (3 << (((FpuTop + (ins.Op0Register - Register.ST0)) & 7) * 2)));
                return true;
            case Mnemonic.Fnop: return true;
            default: return false;
        }
    }

    /// <summary>Rounds to an integer by FCW.RC: nearest-even, down, up, toward zero.</summary>
    private double FpuRound(double v) => ((_fpuControl >> 10) & 3) switch
    {
        0 => Math.Round(v, MidpointRounding.ToEven),
        1 => Math.Floor(v),
        2 => Math.Ceiling(v),
        _ => Math.Truncate(v),
    };

    private void SetFpuTop(int top) => _fpuStatus = (ushort)((_fpuStatus & ~0x3800) | ((top & 7) << 11));

    /// <summary>The 14-byte (16-bit operand size) or 28-byte environment; <paramref name="regs"/> is where FSAVE's registers follow.</summary>
    private bool StoreFpuEnvironment(in Instruction ins, out uint regs, out int seg)
    {
        seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        bool wide = ins.MemorySize is MemorySize.FpuEnv28 or MemorySize.FpuState108;
        int w = wide ? 4 : 2;
        regs = ea + (uint)(7 * w);
        if (!ProbeWriteSeg(seg, ea, 7 * w))
        {
            return false;
        }

        ReadOnlySpan<uint> words = [_fpuControl, _fpuStatus, _fpuTag, 0, 0, 0, 0];
        for (int i = 0; i < 7; i++)
        {
            WriteSeg(seg, ea + (uint)(i * w), w, words[i] | (wide && i < 3 ? 0xFFFF_0000u : 0));
        }

        return _faultVector < 0;
    }

    private bool ReadFpuEnvironment(in Instruction ins, out ushort control, out ushort status, out ushort tag, out uint regs, out int seg)
    {
        seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        int w = ins.MemorySize is MemorySize.FpuEnv28 or MemorySize.FpuState108 ? 4 : 2;
        regs = ea + (uint)(7 * w);
        control = (ushort)ReadSeg(seg, ea, 2);
        status = (ushort)ReadSeg(seg, ea + (uint)w, 2);
        tag = (ushort)ReadSeg(seg, ea + (uint)(2 * w), 2);
        return _faultVector < 0;
    }

    private void LoadFpuEnvironment(in Instruction ins, out uint regs, out int seg)
    {
        if (ReadFpuEnvironment(in ins, out ushort control, out ushort status, out ushort tag, out regs, out seg))
        {
            _fpuControl = control;
            _fpuStatus = status;
            _fpuTag = tag;
        }
    }

    /// <summary>Reads an 80-bit extended real (64-bit mantissa with explicit integer bit, 15-bit exponent).</summary>
    private double ReadExtended(int seg, uint ea)
    {
        ulong mant = ReadSeg(seg, ea, 4) | ((ulong)ReadSeg(seg, ea + 4, 4) << 32);
        uint se = ReadSeg(seg, ea + 8, 2);
        int exp = (int)(se & 0x7FFF);
        double v;
        if (exp == 0x7FFF)
        {
            v = (mant << 1) == 0 ? double.PositiveInfinity : double.NaN;
        }
        else
        {
            v = mant == 0 ? 0 : Math.ScaleB(mant / Math.Pow(2, 63), exp - 16383);
        }

        return (se & 0x8000) != 0 ? -v : v;
    }

    /// <summary>Writes a double as an 80-bit extended real (exact: every double is representable).</summary>
    private void WriteExtended(int seg, uint ea, double v)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(v);
        uint sign = (uint)(bits >> 48) & 0x8000;
        int e = (int)((bits >> 52) & 0x7FF);
        ulong frac = bits & ((1UL << 52) - 1);
        ulong mant;
        int exp;
        if (e == 0x7FF)
        {
            exp = 0x7FFF;
            mant = frac == 0 ? 1UL << 63 : 0xC000_0000_0000_0000 | (frac << 11);
        }
        else if (e == 0)
        {
            if (frac == 0)
            {
                exp = 0;
                mant = 0;
            }
            else
            {
                int lz = System.Numerics.BitOperations.LeadingZeroCount(frac);
                mant = frac << lz;
                exp = 16383 + (63 - lz) - 1074;
            }
        }
        else
        {
            exp = e - 1023 + 16383;
            mant = (1UL << 63) | (frac << 11);
        }

        if (!ProbeWriteSeg(seg, ea, 10))
        {
            return;
        }

        WriteSeg(seg, ea, 4, (uint)mant);
        WriteSeg(seg, ea + 4, 4, (uint)(mant >> 32));
        WriteSeg(seg, ea + 8, 2, sign | (uint)exp);
    }
}
