using System.Numerics;
using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// EFLAGS with lazily computed arithmetic flags (QEMU cc_op/cc_dst/cc_src): ALU instructions record their
/// operands and result, and CF/PF/AF/ZF/SF/OF are derived only when something reads them.
/// </summary>
public sealed partial class X86Cpu
{
    internal const uint FlagCf = 1, FlagPf = 4, FlagAf = 0x10, FlagZf = 0x40, FlagSf = 0x80, FlagTf = 0x100, FlagIf = 0x200,
        FlagDf = 0x400, FlagOf = 0x800, FlagIopl = 0x3000, FlagNt = 0x4000, FlagRf = 0x1_0000, FlagVm = 0x2_0000,
        FlagAc = 0x4_0000, FlagVif = 0x8_0000, FlagVip = 0x10_0000, FlagId = 0x20_0000;

    internal const uint ArithFlags = FlagCf | FlagPf | FlagAf | FlagZf | FlagSf | FlagOf;

    /// <summary>Bits of EFLAGS that exist on this CPU (486 + ID, VIF, VIP); bit 1 reads as one.</summary>
    internal const uint EflagsImplemented = 0x003F_7FD5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint SignOf(int size) => 1u << (size * 8 - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint MaskOf(int size) => size == 4 ? 0xFFFF_FFFF : (1u << (size * 8)) - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetLazy(CcOp op, uint res, uint src1, uint src2, uint sign)
    {
        _ccOp = op;
        _ccRes = res;
        _ccSrc1 = src1;
        _ccSrc2 = src2;
        _ccSign = sign;
    }

    /// <summary>Before INC/DEC: keeps the current CF in <see cref="_eflags"/>, since they do not change it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PreserveCarry()
    {
        if (_ccOp != CcOp.Eflags && _ccOp != CcOp.Inc && _ccOp != CcOp.Dec)
        {
            _eflags = (_eflags & ~FlagCf) | (GetCf() ? FlagCf : 0);
        }
        else if (_ccOp == CcOp.Eflags)
        {
            // CF already in _eflags; the other arithmetic bits there are stale once the op turns lazy, which is fine.
        }
    }

    internal bool GetCf() => _ccOp switch
    {
        CcOp.Add => _ccRes < _ccSrc1,
        CcOp.Sub => _ccSrc1 < _ccSrc2,
        CcOp.Logic => false,
        _ => (_eflags & FlagCf) != 0,
    };

    internal bool GetZf() => _ccOp == CcOp.Eflags ? (_eflags & FlagZf) != 0 : _ccRes == 0;

    internal bool GetSf() => _ccOp == CcOp.Eflags ? (_eflags & FlagSf) != 0 : (_ccRes & _ccSign) != 0;

    internal bool GetPf() => _ccOp == CcOp.Eflags ? (_eflags & FlagPf) != 0 : Parity(_ccRes);

    internal bool GetAf() => _ccOp switch
    {
        CcOp.Eflags => (_eflags & FlagAf) != 0,
        CcOp.Logic => false,
        _ => ((_ccSrc1 ^ _ccSrc2 ^ _ccRes) & 0x10) != 0,
    };

    internal bool GetOf() => _ccOp switch
    {
        CcOp.Add or CcOp.Inc => ((_ccSrc1 ^ _ccRes) & (_ccSrc2 ^ _ccRes) & _ccSign) != 0,
        CcOp.Sub or CcOp.Dec => ((_ccSrc1 ^ _ccSrc2) & (_ccSrc1 ^ _ccRes) & _ccSign) != 0,
        CcOp.Logic => false,
        _ => (_eflags & FlagOf) != 0,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Parity(uint v) => (BitOperations.PopCount(v & 0xFF) & 1) == 0;

    /// <summary>The arithmetic flags as EFLAGS bits.</summary>
    internal uint ArithmeticFlags()
    {
        if (_ccOp == CcOp.Eflags)
        {
            return _eflags & ArithFlags;
        }

        return (GetCf() ? FlagCf : 0) | (GetPf() ? FlagPf : 0) | (GetAf() ? FlagAf : 0) | (GetZf() ? FlagZf : 0)
            | (GetSf() ? FlagSf : 0) | (GetOf() ? FlagOf : 0);
    }

    /// <summary>The whole EFLAGS register (QEMU cpu_compute_eflags).</summary>
    internal uint GetEflags() => (_eflags & ~ArithFlags) | ArithmeticFlags() | 2;

    /// <summary>Materialises the arithmetic flags into <see cref="_eflags"/> so a handler can edit single bits.</summary>
    internal void MaterializeFlags()
    {
        if (_ccOp != CcOp.Eflags)
        {
            _eflags = (_eflags & ~ArithFlags) | ArithmeticFlags();
            _ccOp = CcOp.Eflags;
        }
    }

    /// <summary>Writes the bits of EFLAGS selected by <paramref name="mask"/> (POPF, IRET, SAHF), then refreshes the mode.</summary>
    internal void SetEflags(uint value, uint mask)
    {
        MaterializeFlags();
        uint old = _eflags;
        _eflags = ((_eflags & ~mask) | (value & mask) & EflagsImplemented) | 2;
        if (((old ^ _eflags) & FlagVm) != 0)
        {
            UpdateMode();
        }
    }

    /// <summary>Sets the six arithmetic flags eagerly (for instructions whose flags are not worth a lazy form).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetArithFlags(uint flags)
    {
        _eflags = (_eflags & ~ArithFlags) | (flags & ArithFlags);
        _ccOp = CcOp.Eflags;
    }

    /// <summary>SF, ZF and PF of a result of the given size, as EFLAGS bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint SzpFlags(uint res, int size)
    {
        res &= MaskOf(size);
        return (res == 0 ? FlagZf : 0) | ((res & SignOf(size)) != 0 ? FlagSf : 0) | (Parity(res) ? FlagPf : 0);
    }

    internal bool Condition(ConditionCode cc) => cc switch
    {
        ConditionCode.o => GetOf(),
        ConditionCode.no => !GetOf(),
        ConditionCode.b => GetCf(),
        ConditionCode.ae => !GetCf(),
        ConditionCode.e => GetZf(),
        ConditionCode.ne => !GetZf(),
        ConditionCode.be => GetCf() || GetZf(),
        ConditionCode.a => !GetCf() && !GetZf(),
        ConditionCode.s => GetSf(),
        ConditionCode.ns => !GetSf(),
        ConditionCode.p => GetPf(),
        ConditionCode.np => !GetPf(),
        ConditionCode.l => GetSf() != GetOf(),
        ConditionCode.ge => GetSf() == GetOf(),
        ConditionCode.le => GetZf() || GetSf() != GetOf(),
        ConditionCode.g => !GetZf() && GetSf() == GetOf(),
        _ => true,
    };
}
