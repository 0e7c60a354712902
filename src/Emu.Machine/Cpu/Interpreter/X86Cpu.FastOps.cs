using Emu.Machine.Cpu.Cache;
using System.Numerics;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// Tier 1's helpers for the fast micro-ops that <see cref="Translation.MicroOpLowering"/> chooses.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>The value of a 32-bit shift or rotate of <paramref name="a"/> by a constant 1-31.</summary>
    internal static uint Shifted(ShiftKind kind, uint a, int count) => kind switch
    {
        ShiftKind.Rol => BitOperations.RotateLeft(a, count),
        ShiftKind.Ror => BitOperations.RotateRight(a, count),
        ShiftKind.Shl => a << count,
        ShiftKind.Shr => a >> count,
        _ => (uint)((int)a >> count),
    };

    /// <summary>
    /// A 32-bit shift or rotate by a constant 1-31 (the generic Shift's flags: rotates change CF and OF only;
    /// shifts set SF/ZF/PF from the result, CF from the last bit out, OF from the last one-bit step, AF clear).
    /// </summary>
    private void FastShift(ShiftKind kind, ref uint d, int count)
    {
        uint a = d;
        uint r = Shifted(kind, a, count);
        bool cf, of;
        switch (kind)
        {
            case ShiftKind.Rol:
                cf = (r & 1) != 0;
                of = ((r >> 31) != 0) ^ cf;
                break;
            case ShiftKind.Ror:
                cf = (r >> 31) != 0;
                of = (((r << 1) ^ r) & 0x8000_0000) != 0;
                break;
            case ShiftKind.Shl:
                cf = ((a >> (32 - count)) & 1) != 0;
                of = ((r >> 31) != 0) ^ cf;
                break;
            case ShiftKind.Shr:
                cf = ((a >> (count - 1)) & 1) != 0;
                of = ShrOverflow(a, 0x8000_0000, count);
                break;
            default:
                cf = (((int)a >> (count - 1)) & 1) != 0;
                of = false;
                break;
        }

        d = r;
        uint f = (cf ? FlagCf : 0) | (of ? FlagOf : 0);
        if (kind is ShiftKind.Rol or ShiftKind.Ror)
        {
            MaterializeFlags();
            _eflags = (_eflags & ~(FlagCf | FlagOf)) | f;
        }
        else
        {
            SetArithFlags(f | SzpFlags(r, 4));
        }
    }
}
