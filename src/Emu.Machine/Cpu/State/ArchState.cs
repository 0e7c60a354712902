using Emu.Machine.Cpu.Tlb;

namespace Emu.Machine.Cpu.State;

/// <summary>
/// The architectural state of one x86 CPU (the registers of QEMU's CPUX86State): general registers, EIP, EFLAGS with
/// the lazy-flag record, segment caches, descriptor-table registers, control and debug registers, the MSRs Emu has,
/// and the mode bits derived from them (QEMU's hflags). Both tiers work on it in place: the interpreter through
/// <see cref="X86Cpu"/>, which is this state plus its behaviour, and tier 2's compiled code by loading and storing
/// these fields directly. Its saved form is <see cref="CpuState"/>.
/// </summary>
/// <remarks>
/// The fields keep the names the instruction handlers and tier 2 use (tier 2 finds them by reflection), and stay in
/// the same object as the CPU so every access is one load at a fixed offset, as before the split. vCPU thread only.
/// </remarks>
public abstract class ArchState
{
    private protected ArchState()
    {
    }

    /// <summary>What the lazy flags record (QEMU cc_op); <see cref="Eflags"/> means they are in <see cref="_eflags"/>.</summary>
    internal enum CcOp : byte
    {
        /// <summary>The arithmetic flags are materialised in <see cref="_eflags"/>.</summary>
        Eflags,
        Add,
        Sub,
        Logic,

        /// <summary>Like Add with source 1, but CF is kept in <see cref="_eflags"/>.</summary>
        Inc,

        /// <summary>Like Sub with source 1, but CF is kept in <see cref="_eflags"/>.</summary>
        Dec,
    }

    /// <summary>The eight general registers plus a ninth that is always zero: micro-ops name it for "no base/index register".</summary>
    internal readonly uint[] _gpr = new uint[9];

    internal uint _eip;

    /// <summary>EFLAGS except the arithmetic flags while <see cref="_ccOp"/> is not <see cref="CcOp.Eflags"/>; CF lives here for INC/DEC.</summary>
    internal uint _eflags;
    internal CcOp _ccOp;
    internal uint _ccRes, _ccSrc1, _ccSrc2;

    /// <summary>Sign bit of the lazy operation's size (0x80, 0x8000 or 0x80000000).</summary>
    internal uint _ccSign;

    /// <summary>ES, CS, SS, DS, FS, GS (X86Cpu.SegEs … SegGs): selector and the descriptor cache behind it.</summary>
    internal readonly SegmentCache[] _seg = new SegmentCache[6];
    internal SegmentCache _ldtr;
    internal SegmentCache _tr;
    internal uint _gdtBase, _gdtLimit, _idtBase, _idtLimit;
    internal uint _cr0, _cr2, _cr3, _cr4;
    internal readonly uint[] _dr = new uint[8];
    internal ulong _efer;
    internal ulong _apicBase;
    internal ulong _tscOffset;

    /// <summary>Current privilege level; 0 in real mode, 3 in virtual-8086 mode.</summary>
    internal int _cpl;

    /// <summary>CS.D: 32-bit default operand and address size.</summary>
    internal bool _code32;

    /// <summary>SS.B: ESP (not SP) is the stack pointer.</summary>
    internal bool _stack32;

    /// <summary>The registers the MMU's walk reads, as they are now.</summary>
    internal PagingRegisters Paging => new(_cr0, _cr3, _cr4);
}
