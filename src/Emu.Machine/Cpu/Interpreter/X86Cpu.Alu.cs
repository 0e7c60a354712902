using System.Numerics;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// Integer arithmetic (QEMU cc_helper.c / int_helper.c): ALU ops with lazy flags, INC/DEC/NEG/NOT,
/// multiply and divide with #DE, shifts and rotates, bit tests and scans, BCD adjust, XADD/CMPXCHG/BSWAP.
/// Results are written before flags change, so a faulting store leaves EFLAGS as they were.
/// </summary>
public sealed partial class X86Cpu
{
    internal enum AluKind : byte
    {
        Add,
        Or,
        Adc,
        Sbb,
        And,
        Sub,
        Xor,
        Cmp,
        Test,
    }

    internal enum MulDivKind : byte
    {
        Mul,
        Div,
        Idiv,
    }

    private void AluBinary(in Instruction ins, AluKind kind)
    {
        int size = OperandSize(in ins, 0);
        uint a = ReadOp(in ins, 0, size);
        uint b = ReadOp(in ins, 1, size);
        if (_faultVector >= 0)
        {
            return;
        }

        uint carry = (kind == AluKind.Adc || kind == AluKind.Sbb) && GetCf() ? 1u : 0;
        uint r = AluResult(kind, a, b, carry) & MaskOf(size);
        if (kind != AluKind.Cmp && kind != AluKind.Test)
        {
            WriteOp(in ins, 0, size, r);
            if (_faultVector >= 0)
            {
                return;
            }
        }

        SetAluFlags(kind, a & MaskOf(size), b & MaskOf(size), r, carry, size);
    }

    internal static uint AluResult(AluKind kind, uint a, uint b, uint carry) => kind switch
    {
        AluKind.Add => a + b,
        AluKind.Or => a | b,
        AluKind.Adc => a + b + carry,
        AluKind.Sbb => a - b - carry,
        AluKind.And or AluKind.Test => a & b,
        AluKind.Xor => a ^ b,
        _ => a - b,
    };

    internal void SetAluFlags(AluKind kind, uint a, uint b, uint r, uint carry, int size)
    {
        uint sign = SignOf(size);
        switch (kind)
        {
            case AluKind.Add:
                SetLazy(CcOp.Add, r, a, b, sign);
                break;
            case AluKind.Sub:
            case AluKind.Cmp:
                SetLazy(CcOp.Sub, r, a, b, sign);
                break;
            case AluKind.Adc:
                {
                    bool cf = carry != 0 ? r <= a : r < a;
                    bool of = ((a ^ r) & (b ^ r) & sign) != 0;
                    SetArithFlags(SzpFlags(r, size) | (cf ? FlagCf : 0) | (of ? FlagOf : 0) | ((a ^ b ^ r) & FlagAf));
                    break;
                }

            case AluKind.Sbb:
                {
                    bool cf = carry != 0 ? a <= b : a < b;
                    bool of = ((a ^ b) & (a ^ r) & sign) != 0;
                    SetArithFlags(SzpFlags(r, size) | (cf ? FlagCf : 0) | (of ? FlagOf : 0) | ((a ^ b ^ r) & FlagAf));
                    break;
                }

            default:
                SetLazy(CcOp.Logic, r, 0, 0, sign);
                break;
        }
    }

    private void IncDec(in Instruction ins, bool inc)
    {
        int size = OperandSize(in ins, 0);
        uint a = ReadOp(in ins, 0, size);
        if (_faultVector >= 0)
        {
            return;
        }

        uint r = (inc ? a + 1 : a - 1) & MaskOf(size);
        WriteOp(in ins, 0, size, r);
        if (_faultVector >= 0)
        {
            return;
        }

        PreserveCarry();
        SetLazy(inc ? CcOp.Inc : CcOp.Dec, r, a, 1, SignOf(size));
    }

    private void Neg(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        uint a = ReadOp(in ins, 0, size);
        if (_faultVector >= 0)
        {
            return;
        }

        uint r = (0 - a) & MaskOf(size);
        WriteOp(in ins, 0, size, r);
        if (_faultVector < 0)
        {
            SetLazy(CcOp.Sub, r, 0, a, SignOf(size));
        }
    }

    private void Not(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        uint a = ReadOp(in ins, 0, size);
        if (_faultVector < 0)
        {
            WriteOp(in ins, 0, size, ~a & MaskOf(size));
        }
    }

    /// <summary>MUL, DIV, IDIV with the accumulator pair as the implicit operand (QEMU helper_div*).</summary>
    private void MulDiv(in Instruction ins, MulDivKind kind)
    {
        int size = OperandSize(in ins, 0);
        uint src = ReadOp(in ins, 0, size);
        if (_faultVector >= 0)
        {
            return;
        }

        ulong acc = size switch
        {
            1 => _gpr[RegEax] & 0xFFFF,
            2 => ((_gpr[RegEdx] & 0xFFFF) << 16) | (_gpr[RegEax] & 0xFFFF),
            _ => ((ulong)_gpr[RegEdx] << 32) | _gpr[RegEax],
        };
        int bits = size * 8;
        ulong mask = (1UL << bits) - 1;
        ulong lo, hi;
        switch (kind)
        {
            case MulDivKind.Mul:
                {
                    ulong p = (acc & mask) * src;
                    lo = p & mask;
                    hi = (p >> bits) & mask;
                    StoreAccPair(size, lo, hi);
                    uint f = SzpFlags((uint)lo, size) | (hi != 0 ? FlagCf | FlagOf : 0);
                    SetArithFlags(f);
                    return;
                }

            case MulDivKind.Div:
                {
                    if (src == 0)
                    {
                        RaiseFault(ExceptionDe);
                        return;
                    }

                    ulong q = acc / src;
                    if (q > mask)
                    {
                        RaiseFault(ExceptionDe);
                        return;
                    }

                    StoreAccPair(size, q, acc % src);
                    return;
                }

            default:
                {
                    if (src == 0)
                    {
                        RaiseFault(ExceptionDe);
                        return;
                    }

                    long dividend = size == 4 ? (long)acc : SignExtend(acc, bits * 2);
                    long divisor = SignExtend(src, bits);
                    if (dividend == long.MinValue && divisor == -1)
                    {
                        RaiseFault(ExceptionDe);
                        return;
                    }

                    long q = dividend / divisor;
                    long rem = dividend % divisor;
                    long min = -(1L << (bits - 1));
                    long max = (1L << (bits - 1)) - 1;
                    if (q < min || q > max)
                    {
                        RaiseFault(ExceptionDe);
                        return;
                    }

                    StoreAccPair(size, (ulong)q & mask, (ulong)rem & mask);
                    return;
                }
        }
    }

    private static long SignExtend(ulong v, int bits) => bits >= 64 ? (long)v : (long)(v << (64 - bits)) >> (64 - bits);

    /// <summary>Stores a result pair: AL/AH for bytes, AX/DX for words, EAX/EDX for dwords.</summary>
    private void StoreAccPair(int size, ulong low, ulong high)
    {
        switch (size)
        {
            case 1:
                WriteReg(Register.AX, (uint)(low & 0xFF) | ((uint)(high & 0xFF) << 8));
                break;
            case 2:
                WriteReg(Register.AX, (uint)low);
                WriteReg(Register.DX, (uint)high);
                break;
            default:
                _gpr[RegEax] = (uint)low;
                _gpr[RegEdx] = (uint)high;
                break;
        }
    }

    private void Imul(in Instruction ins)
    {
        if (ins.OpCount == 1)
        {
            int size = OperandSize(in ins, 0);
            uint src = ReadOp(in ins, 0, size);
            if (_faultVector >= 0)
            {
                return;
            }

            int bits = size * 8;
            long a = SignExtend(size == 1 ? _gpr[RegEax] & 0xFF : size == 2 ? _gpr[RegEax] & 0xFFFF : _gpr[RegEax], bits);
            long p = a * SignExtend(src, bits);
            ulong mask = (1UL << bits) - 1;
            StoreAccPair(size, (ulong)p & mask, (ulong)(p >> bits) & mask);
            bool overflow = p != SignExtend((ulong)p & mask, bits);
            SetArithFlags(SzpFlags((uint)p, size) | (overflow ? FlagCf | FlagOf : 0));
            return;
        }

        int sz = OperandSize(in ins, 0);
        uint x = ReadOp(in ins, ins.OpCount == 2 ? 0 : 1, sz);
        uint y = ReadOp(in ins, ins.OpCount == 2 ? 1 : 2, sz);
        if (_faultVector >= 0)
        {
            return;
        }

        int n = sz * 8;
        long prod = SignExtend(x, n) * SignExtend(y, n);
        uint r = (uint)prod & MaskOf(sz);
        WriteOp(in ins, 0, sz, r);
        bool ovf = prod != SignExtend(r, n);
        SetArithFlags(SzpFlags(r, sz) | (ovf ? FlagCf | FlagOf : 0));
    }

    /// <summary>ROL/ROR/RCL/RCR/SHL/SAL/SHR/SAR; the count is masked to 5 bits as on the 286 and later.</summary>
    private void Shift(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        uint count = (ins.OpCount > 1 ? ReadOp(in ins, 1, 1) : 1) & 0x1F;
        uint a = ReadOp(in ins, 0, size);
        if (_faultVector >= 0 || count == 0)
        {
            return;
        }

        int bits = size * 8;
        uint mask = MaskOf(size);
        uint sign = SignOf(size);
        uint r;
        bool cf;
        bool of;
        MaterializeFlags();
        bool oldCf = (_eflags & FlagCf) != 0;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Rol:
                {
                    int c = (int)(count % (uint)bits);
                    r = ((a << c) | (a >> ((bits - c) % bits))) & mask;
                    if (c == 0)
                    {
                        r = a;
                    }

                    cf = (r & 1) != 0;
                    of = ((r & sign) != 0) ^ cf;
                    break;
                }

            case Mnemonic.Ror:
                {
                    int c = (int)(count % (uint)bits);
                    r = c == 0 ? a : ((a >> c) | (a << (bits - c))) & mask;
                    cf = (r & sign) != 0;
                    of = (((r << 1) ^ r) & sign) != 0;
                    break;
                }

            case Mnemonic.Rcl:
            case Mnemonic.Rcr:
                {
                    // Through CF the rotate spans bits + 1; a count that is a multiple of that changes nothing,
                    // flags included (QEMU's rclb/rclw tables).
                    int c = (int)(count % (uint)(bits + 1));
                    if (c == 0)
                    {
                        return;
                    }

                    r = a;
                    cf = oldCf;
                    bool left = ins.Mnemonic == Mnemonic.Rcl;
                    for (int i = 0; i < c; i++)
                    {
                        bool outBit = left ? (r & sign) != 0 : (r & 1) != 0;
                        r = left ? ((r << 1) | (cf ? 1u : 0)) & mask : (r >> 1) | (cf ? sign : 0);
                        cf = outBit;
                    }

                    // The sign change between operand and result: the documented by-1 OF, and what QEMU (and so
                    // the probes) compute for every count.
                    of = ((a ^ r) & sign) != 0;
                    break;
                }

            case Mnemonic.Shl:
            case Mnemonic.Sal:
                {
                    ulong wide = (ulong)a << (int)count;
                    r = (uint)wide & mask;
                    cf = ((wide >> bits) & 1) != 0;
                    of = ((r & sign) != 0) ^ cf;
                    break;
                }

            case Mnemonic.Shr:
                r = count >= 32 ? 0 : a >> (int)count;
                cf = ((a >> (int)(count - 1)) & 1) != 0;
                of = ShrOverflow(a, sign, (int)count);
                break;

            default:
                {
                    long s = SignExtend(a, bits);
                    int c = (int)Math.Min(count, 63u);
                    r = (uint)(s >> c) & mask;
                    cf = ((s >> (c - 1)) & 1) != 0;
                    of = false;
                    break;
                }
        }

        WriteOp(in ins, 0, size, r);
        if (_faultVector >= 0)
        {
            return;
        }

        uint f = (cf ? FlagCf : 0) | (of ? FlagOf : 0);
        if (ins.Mnemonic is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr)
        {
            // Rotates change only CF and OF.
            _eflags = (_eflags & ~(FlagCf | FlagOf)) | f;
        }
        else
        {
            SetArithFlags(f | SzpFlags(r, size));
        }
    }

    /// <summary>
    /// SHR's OF is the sign of the value before the last one-bit step: the operand's sign for a count of 1, clear
    /// for more, since the first step already brought in a zero (QEMU and Bochs alike).
    /// </summary>
    private static bool ShrOverflow(uint a, uint sign, int count) => count == 1 && (a & sign) != 0;

    private void DoubleShift(in Instruction ins, bool left)
    {
        int size = OperandSize(in ins, 0);
        uint count = ReadOp(in ins, 2, 1) & 0x1F;
        uint a = ReadOp(in ins, 0, size);
        uint b = ReadOp(in ins, 1, size);
        if (_faultVector >= 0 || count == 0)
        {
            return;
        }

        (uint r, bool cf) = DoubleShifted(a, b, size, left, (int)count);
        WriteOp(in ins, 0, size, r);
        if (_faultVector >= 0)
        {
            return;
        }

        // OF is the sign change of the last one-bit step (by 1, of the whole shift), as QEMU computes it.
        uint beforeLast = count == 1 ? a : DoubleShifted(a, b, size, left, (int)count - 1).Result;
        bool of = ((r ^ beforeLast) & SignOf(size)) != 0;
        SetArithFlags(SzpFlags(r, size) | (cf ? FlagCf : 0) | (of ? FlagOf : 0));
    }

    /// <summary>SHLD/SHRD of <paramref name="a"/> with bits from <paramref name="b"/> by 1–31: the result and the last bit out.</summary>
    private static (uint Result, bool Cf) DoubleShifted(uint a, uint b, int size, bool left, int count)
    {
        if (size == 4)
        {
            if (left)
            {
                ulong wide = ((ulong)a << 32) | b;
                return ((uint)((wide << count) >> 32), ((a >> (32 - count)) & 1) != 0);
            }

            ulong wideRight = ((ulong)b << 32) | a;
            return ((uint)(wideRight >> count), ((a >> (count - 1)) & 1) != 0);
        }

        if (left)
        {
            // 16-bit: a:b:a:b, so counts above 16 shift b's bits back in (the 486 result for the undefined range).
            ulong v = ((ulong)a << 48) | ((ulong)b << 32) | ((ulong)a << 16) | b;
            return ((uint)((v << count) >> 48) & 0xFFFF, ((v >> (64 - count)) & 1) != 0);
        }

        ulong vr = a | ((ulong)b << 16) | ((ulong)a << 32) | ((ulong)b << 48);
        return ((uint)(vr >> count) & 0xFFFF, ((vr >> (count - 1)) & 1) != 0);
    }

    private void BitTest(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        int bits = size * 8;
        uint offset = ReadOp(in ins, 1, size);
        uint value;
        int seg = 0;
        uint ea = 0;
        bool memory = ins.Op0Kind == OpKind.Memory;
        int bit;
        if (memory)
        {
            seg = SegIndex(ins.MemorySegment);
            ea = EffectiveAddress(in ins);
            if (ins.Op1Kind == OpKind.Register)
            {
                // A register bit offset is signed and may reach outside the operand.
                int signedOffset = size == 2 ? (short)offset : (int)offset;
                ea += (uint)((signedOffset >> (size == 2 ? 4 : 5)) * size);
                if (!AddressIs32(in ins))
                {
                    ea &= 0xFFFF;
                }

                bit = signedOffset & (bits - 1);
            }
            else
            {
                bit = (int)(offset & (uint)(bits - 1));
            }

            value = ReadSeg(seg, ea, size);
        }
        else
        {
            bit = (int)(offset & (uint)(bits - 1));
            value = ReadOp(in ins, 0, size);
        }

        if (_faultVector >= 0)
        {
            return;
        }

        bool set = ((value >> bit) & 1) != 0;
        uint r = ins.Mnemonic switch
        {
            Mnemonic.Bts => value | (1u << bit),
            Mnemonic.Btr => value & ~(1u << bit),
            Mnemonic.Btc => value ^ (1u << bit),
            _ => value,
        };
        if (ins.Mnemonic != Mnemonic.Bt)
        {
            if (memory)
            {
                WriteSeg(seg, ea, size, r);
            }
            else
            {
                WriteOp(in ins, 0, size, r);
            }

            if (_faultVector >= 0)
            {
                return;
            }
        }

        MaterializeFlags();
        _eflags = (_eflags & ~FlagCf) | (set ? FlagCf : 0);
    }

    private void BitScan(in Instruction ins, bool forward)
    {
        int size = OperandSize(in ins, 0);
        uint src = ReadOp(in ins, 1, size);
        if (_faultVector >= 0)
        {
            return;
        }

        MaterializeFlags();
        if (src == 0)
        {
            _eflags |= FlagZf;
            return;
        }

        _eflags &= ~FlagZf;
        WriteOp(in ins, 0, size, (uint)(forward ? BitOperations.TrailingZeroCount(src) : 31 - BitOperations.LeadingZeroCount(src)));
    }

    /// <summary>
    /// DAA and DAS (QEMU helper_daa/helper_das): adjust AL after a packed-BCD add or subtract. DAS keeps the borrow
    /// of the low-digit step in CF; DAA's CF comes from the high-digit step alone.
    /// </summary>
    private void DecimalAdjust(bool subtract)
    {
        uint al = _gpr[RegEax] & 0xFF;
        bool cf = GetCf();
        bool af = (al & 0x0F) > 9 || GetAf();
        uint oldAl = al;
        bool newCf = false;
        if (af)
        {
            newCf = subtract && (cf || al < 6);
            al = subtract ? al - 6 : al + 6;
        }

        if (oldAl > 0x99 || cf)
        {
            al = subtract ? al - 0x60 : al + 0x60;
            newCf = true;
        }

        al &= 0xFF;
        WriteReg(Register.AL, al);
        SetArithFlags(SzpFlags(al, 1) | (newCf ? FlagCf : 0) | (af ? FlagAf : 0));
    }

    private void Aaa(bool subtract)
    {
        uint ax = _gpr[RegEax] & 0xFFFF;
        bool adjust = (ax & 0x0F) > 9 || GetAf();
        if (adjust)
        {
            // A 386 adjusts all of AX (QEMU helper_aaa/helper_aas): AAS borrows AL's underflow from AH, as AAA carries into it.
            ax = subtract ? (ax - 0x106) & 0xFFFF : (ax + 0x106) & 0xFFFF;
        }

        ax &= 0xFF0F;
        WriteReg(Register.AX, ax);
        SetArithFlags(SzpFlags(ax & 0xFF, 1) | (adjust ? FlagCf | FlagAf : 0));
    }

    private void Aam(byte imm)
    {
        if (imm == 0)
        {
            RaiseFault(ExceptionDe);
            return;
        }

        uint al = _gpr[RegEax] & 0xFF;
        uint ax = ((al / imm) << 8) | (al % imm);
        WriteReg(Register.AX, ax);
        SetArithFlags(SzpFlags(ax & 0xFF, 1));
    }

    private void Aad(byte imm)
    {
        uint ax = _gpr[RegEax];
        uint al = ((ax & 0xFF) + (((ax >> 8) & 0xFF) * imm)) & 0xFF;
        WriteReg(Register.AX, al);
        SetArithFlags(SzpFlags(al, 1));
    }

    private void Xadd(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        uint a = ReadOp(in ins, 0, size);
        uint b = ReadOp(in ins, 1, size);
        if (_faultVector >= 0)
        {
            return;
        }

        uint r = (a + b) & MaskOf(size);
        WriteOp(in ins, 0, size, r);
        if (_faultVector >= 0)
        {
            return;
        }

        WriteOp(in ins, 1, size, a);
        SetLazy(CcOp.Add, r, a, b, SignOf(size));
    }

    private void Cmpxchg(in Instruction ins)
    {
        int size = OperandSize(in ins, 0);
        uint dst = ReadOp(in ins, 0, size);
        uint src = ReadOp(in ins, 1, size);
        if (_faultVector >= 0)
        {
            return;
        }

        uint acc = _gpr[RegEax] & MaskOf(size);
        if (acc == dst)
        {
            WriteOp(in ins, 0, size, src);
        }
        else
        {
            // The processor always writes the destination (with its old value) on a mismatch.
            WriteOp(in ins, 0, size, dst);
            if (_faultVector < 0)
            {
                WriteReg(size == 1 ? Register.AL : size == 2 ? Register.AX : Register.EAX, dst);
            }
        }

        if (_faultVector < 0)
        {
            SetLazy(CcOp.Sub, (acc - dst) & MaskOf(size), acc, dst, SignOf(size));
        }
    }

    private void Cmpxchg8b(in Instruction ins)
    {
        int seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        uint lo = ReadSeg(seg, ea, 4);
        uint hi = ReadSeg(seg, ea + 4, 4);
        if (_faultVector >= 0 || !ProbeWriteSeg(seg, ea, 8))
        {
            return;
        }

        MaterializeFlags();
        if (lo == _gpr[RegEax] && hi == _gpr[RegEdx])
        {
            WriteSeg(seg, ea, 4, _gpr[RegEbx]);
            WriteSeg(seg, ea + 4, 4, _gpr[RegEcx]);
            _eflags |= FlagZf;
        }
        else
        {
            WriteSeg(seg, ea, 4, lo);
            WriteSeg(seg, ea + 4, 4, hi);
            _gpr[RegEax] = lo;
            _gpr[RegEdx] = hi;
            _eflags &= ~FlagZf;
        }
    }

    private void Bswap(in Instruction ins)
    {
        Register reg = ins.Op0Register;
        uint v = ReadReg(reg);
        WriteReg(reg, RegSize(reg) == 4 ? BinaryReverse(v) : 0);
    }

    private static uint BinaryReverse(uint v) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
}
