using Emu.Machine.State;

namespace Emu.Machine.Cpu.State;

/// <summary>
/// The migrated CPU state (QEMU vmstate_x86_cpu, reduced to what a 486/Pentium-class CPU has). Segment
/// arrays are indexed ES, CS, SS, DS, FS, GS; <c>Flags</c> hold the descriptor high dword masked 0x00F0FF00.
/// </summary>
public sealed record CpuState
{
    public const int SegmentCount = 6;

    /// <summary>EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI.</summary>
    public uint[] Gpr { get; init; } = new uint[8];

    public uint Eip { get; init; }

    public uint Eflags { get; init; } = 2;

    public ushort[] SegSelector { get; init; } = new ushort[SegmentCount];

    public uint[] SegBase { get; init; } = new uint[SegmentCount];

    public uint[] SegLimit { get; init; } = new uint[SegmentCount];

    public uint[] SegFlags { get; init; } = new uint[SegmentCount];

    public ushort LdtrSelector { get; init; }

    public uint LdtrBase { get; init; }

    public uint LdtrLimit { get; init; }

    public uint LdtrFlags { get; init; }

    public ushort TrSelector { get; init; }

    public uint TrBase { get; init; }

    public uint TrLimit { get; init; }

    public uint TrFlags { get; init; }

    public uint GdtrBase { get; init; }

    public uint GdtrLimit { get; init; }

    public uint IdtrBase { get; init; }

    public uint IdtrLimit { get; init; }

    public uint Cr0 { get; init; }

    public uint Cr2 { get; init; }

    public uint Cr3 { get; init; }

    public uint Cr4 { get; init; }

    public uint[] Dr { get; init; } = new uint[8];

    public ulong Efer { get; init; }

    public ulong TscOffset { get; init; }

    public ulong ApicBase { get; init; }

    public long InstructionsRetired { get; init; }

    public bool Halted { get; init; }

    public bool PendingNmi { get; init; }

    /// <summary>An NMI handler runs: further NMIs wait for its IRET.</summary>
    public bool NmiBlocked { get; init; }

    /// <summary>The instruction after STI / MOV SS has not run yet: external interrupts wait one instruction.</summary>
    public bool InterruptShadow { get; init; }

    public ushort FpuControl { get; init; } = 0x037F;

    public ushort FpuStatus { get; init; }

    public ushort FpuTag { get; init; } = 0xFFFF;

    /// <summary>The eight x87 registers (physical order) as IEEE doubles' bits: Emu keeps x87 values in double precision.</summary>
    public ulong[] FpuRegs { get; init; } = new ulong[8];

    public bool Equals(CpuState? other) =>
        other is not null
        && Gpr.AsSpan().SequenceEqual(other.Gpr) && Eip == other.Eip && Eflags == other.Eflags
        && SegSelector.AsSpan().SequenceEqual(other.SegSelector) && SegBase.AsSpan().SequenceEqual(other.SegBase)
        && SegLimit.AsSpan().SequenceEqual(other.SegLimit) && SegFlags.AsSpan().SequenceEqual(other.SegFlags)
        && LdtrSelector == other.LdtrSelector && LdtrBase == other.LdtrBase && LdtrLimit == other.LdtrLimit && LdtrFlags == other.LdtrFlags
        && TrSelector == other.TrSelector && TrBase == other.TrBase && TrLimit == other.TrLimit && TrFlags == other.TrFlags
        && GdtrBase == other.GdtrBase && GdtrLimit == other.GdtrLimit && IdtrBase == other.IdtrBase && IdtrLimit == other.IdtrLimit
        && Cr0 == other.Cr0 && Cr2 == other.Cr2 && Cr3 == other.Cr3 && Cr4 == other.Cr4 && Dr.AsSpan().SequenceEqual(other.Dr)
        && Efer == other.Efer && TscOffset == other.TscOffset && ApicBase == other.ApicBase
        && InstructionsRetired == other.InstructionsRetired && Halted == other.Halted && PendingNmi == other.PendingNmi
        && NmiBlocked == other.NmiBlocked
        && InterruptShadow == other.InterruptShadow && FpuControl == other.FpuControl && FpuStatus == other.FpuStatus
        && FpuTag == other.FpuTag && FpuRegs.AsSpan().SequenceEqual(other.FpuRegs);

    public override int GetHashCode() => HashCode.Combine(Eip, Eflags, Cr0, Cr3, InstructionsRetired, Gpr[0]);

    /// <summary>QEMU vmstate_x86_cpu, Emu's layout: section "cpu", version 2 (version 1 had no nmi_blocked).</summary>
    public static VmStateDescription<CpuState> Vmsd { get; } = new(
        "cpu",
        version: 2,
        minimumVersion: 1,
        () => new CpuState(),
        [
            VmField.U32Array<CpuState>("regs", 8, s => s.Gpr, (s, v) => s with { Gpr = v }),
            VmField.U32<CpuState>("eip", s => s.Eip, (s, v) => s with { Eip = v }),
            VmField.U32<CpuState>("eflags", s => s.Eflags, (s, v) => s with { Eflags = v }),
            VmField.U32Array<CpuState>("seg.selector", SegmentCount, s => Widen(s.SegSelector), (s, v) => s with { SegSelector = Narrow(v) }),
            VmField.U32Array<CpuState>("seg.base", SegmentCount, s => s.SegBase, (s, v) => s with { SegBase = v }),
            VmField.U32Array<CpuState>("seg.limit", SegmentCount, s => s.SegLimit, (s, v) => s with { SegLimit = v }),
            VmField.U32Array<CpuState>("seg.flags", SegmentCount, s => s.SegFlags, (s, v) => s with { SegFlags = v }),
            VmField.U16<CpuState>("ldt.selector", s => s.LdtrSelector, (s, v) => s with { LdtrSelector = v }),
            VmField.U32<CpuState>("ldt.base", s => s.LdtrBase, (s, v) => s with { LdtrBase = v }),
            VmField.U32<CpuState>("ldt.limit", s => s.LdtrLimit, (s, v) => s with { LdtrLimit = v }),
            VmField.U32<CpuState>("ldt.flags", s => s.LdtrFlags, (s, v) => s with { LdtrFlags = v }),
            VmField.U16<CpuState>("tr.selector", s => s.TrSelector, (s, v) => s with { TrSelector = v }),
            VmField.U32<CpuState>("tr.base", s => s.TrBase, (s, v) => s with { TrBase = v }),
            VmField.U32<CpuState>("tr.limit", s => s.TrLimit, (s, v) => s with { TrLimit = v }),
            VmField.U32<CpuState>("tr.flags", s => s.TrFlags, (s, v) => s with { TrFlags = v }),
            VmField.U32<CpuState>("gdt.base", s => s.GdtrBase, (s, v) => s with { GdtrBase = v }),
            VmField.U32<CpuState>("gdt.limit", s => s.GdtrLimit, (s, v) => s with { GdtrLimit = v }),
            VmField.U32<CpuState>("idt.base", s => s.IdtrBase, (s, v) => s with { IdtrBase = v }),
            VmField.U32<CpuState>("idt.limit", s => s.IdtrLimit, (s, v) => s with { IdtrLimit = v }),
            VmField.U32<CpuState>("cr0", s => s.Cr0, (s, v) => s with { Cr0 = v }),
            VmField.U32<CpuState>("cr2", s => s.Cr2, (s, v) => s with { Cr2 = v }),
            VmField.U32<CpuState>("cr3", s => s.Cr3, (s, v) => s with { Cr3 = v }),
            VmField.U32<CpuState>("cr4", s => s.Cr4, (s, v) => s with { Cr4 = v }),
            VmField.U32Array<CpuState>("dr", 8, s => s.Dr, (s, v) => s with { Dr = v }),
            VmField.U64<CpuState>("efer", s => s.Efer, (s, v) => s with { Efer = v }),
            VmField.U64<CpuState>("tsc_offset", s => s.TscOffset, (s, v) => s with { TscOffset = v }),
            VmField.U64<CpuState>("apic_base", s => s.ApicBase, (s, v) => s with { ApicBase = v }),
            VmField.I64<CpuState>("insns_retired", s => s.InstructionsRetired, (s, v) => s with { InstructionsRetired = v }),
            VmField.Bool<CpuState>("halted", s => s.Halted, (s, v) => s with { Halted = v }),
            VmField.Bool<CpuState>("nmi_pending", s => s.PendingNmi, (s, v) => s with { PendingNmi = v }),
            VmField.Bool<CpuState>("interrupt_shadow", s => s.InterruptShadow, (s, v) => s with { InterruptShadow = v }),
            VmField.U16<CpuState>("fpuc", s => s.FpuControl, (s, v) => s with { FpuControl = v }),
            VmField.U16<CpuState>("fpus", s => s.FpuStatus, (s, v) => s with { FpuStatus = v }),
            VmField.U16<CpuState>("fptag", s => s.FpuTag, (s, v) => s with { FpuTag = v }),
            VmField.U64Array<CpuState>("fpregs", 8, s => s.FpuRegs, (s, v) => s with { FpuRegs = v }),
            VmField.Bool<CpuState>("nmi_blocked", s => s.NmiBlocked, (s, v) => s with { NmiBlocked = v }, sinceVersion: 2),
        ],
        validate: Validate);

    /// <summary>Checks a loaded state for consistency (QEMU cpu_post_load's sanity checks), null when fine.</summary>
    public static string? Validate(CpuState s)
    {
        const uint reservedEflags = 0xFFC0_8028; // bits 3, 5, 15, 22-31 must be zero
        if ((s.Eflags & 2) == 0 || (s.Eflags & reservedEflags) != 0)
        {
            return $"eflags 0x{s.Eflags:x} has reserved bits wrong (bit 1 must be set, 0x{reservedEflags:x} clear)";
        }

        bool pe = (s.Cr0 & 1) != 0;
        if ((s.Cr0 & 0x8000_0000) != 0 && !pe)
        {
            return $"cr0 0x{s.Cr0:x} enables paging without protection";
        }

        for (int i = 0; i < SegmentCount; i++)
        {
            if ((s.SegFlags[i] & ~SegmentCache.FlagsMask) != 0)
            {
                return $"segment {i} flags 0x{s.SegFlags[i]:x} have bits outside 0x{SegmentCache.FlagsMask:x}";
            }
        }

        const int ss = 2;
        if (pe && (s.Eflags & (1u << 17)) == 0 && (s.SegFlags[ss] & SegmentCache.FlagP) != 0
            && (s.SegFlags[ss] & (SegmentCache.FlagS | SegmentCache.TypeCode)) != SegmentCache.FlagS)
        {
            return $"ss flags 0x{s.SegFlags[ss]:x} are not a data segment in protected mode";
        }

        if (s.GdtrLimit > 0xFFFF || s.IdtrLimit > 0xFFFF)
        {
            return $"gdt limit 0x{s.GdtrLimit:x} or idt limit 0x{s.IdtrLimit:x} is above 0xffff";
        }

        return null;
    }

    private static uint[] Widen(ushort[] v)
    {
        var w = new uint[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            w[i] = v[i];
        }

        return w;
    }

    private static ushort[] Narrow(uint[] v)
    {
        var n = new ushort[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            if (v[i] > 0xFFFF)
            {
                throw new VmStateException($"state: 'cpu' segment selector {i} is 0x{v[i]:x}, expected at most 0xffff");
            }

            n[i] = (ushort)v[i];
        }

        return n;
    }
}
