using Emu.Machine.State;

namespace Emu.Machine.Devices.Apic;

/// <summary>
/// A local APIC's migrated state: section "apic", instance = APIC ID, QEMU's vmstate_apic_common field names.
/// IA32_APIC_BASE is the CPU's register and travels in "cpu"; <c>esr_pending</c> (errors not yet latched by a
/// write to the ESR) is Emu's.
/// </summary>
public sealed record LocalApicState
{
    public static readonly VmStateDescription<LocalApicState> Vmsd = new(
        "apic", version: 3, minimumVersion: 3, () => new LocalApicState(),
        [
            VmField.U8<LocalApicState>("id", s => s.Id, (s, v) => s with { Id = v }),
            VmField.U8<LocalApicState>("arb_id", s => s.ArbId, (s, v) => s with { ArbId = v }),
            VmField.U8<LocalApicState>("tpr", s => s.Tpr, (s, v) => s with { Tpr = v }),
            VmField.U32<LocalApicState>("spurious_vec", s => s.SpuriousVector, (s, v) => s with { SpuriousVector = v }),
            VmField.U8<LocalApicState>("log_dest", s => s.LogicalDestination, (s, v) => s with { LogicalDestination = v }),
            VmField.U8<LocalApicState>("dest_mode", s => s.DestinationMode, (s, v) => s with { DestinationMode = v }),
            VmField.U32Array<LocalApicState>("isr", 8, s => s.Isr, (s, v) => s with { Isr = v }),
            VmField.U32Array<LocalApicState>("tmr", 8, s => s.Tmr, (s, v) => s with { Tmr = v }),
            VmField.U32Array<LocalApicState>("irr", 8, s => s.Irr, (s, v) => s with { Irr = v }),
            VmField.U32Array<LocalApicState>("lvt", ApicRegister.LvtCount, s => s.Lvt, (s, v) => s with { Lvt = v }),
            VmField.U32<LocalApicState>("esr", s => s.Esr, (s, v) => s with { Esr = v }),
            VmField.U32<LocalApicState>("esr_pending", s => s.EsrPending, (s, v) => s with { EsrPending = v }),
            VmField.U32Array<LocalApicState>("icr", 2, s => s.Icr, (s, v) => s with { Icr = v }),
            VmField.U32<LocalApicState>("divide_conf", s => s.DivideConfig, (s, v) => s with { DivideConfig = v }),
            VmField.I32<LocalApicState>("count_shift", s => s.CountShift, (s, v) => s with { CountShift = v }),
            VmField.U32<LocalApicState>("initial_count", s => s.InitialCount, (s, v) => s with { InitialCount = v }),
            VmField.I64<LocalApicState>("initial_count_load_time", s => s.InitialCountLoadTime, (s, v) => s with { InitialCountLoadTime = v }),
            VmField.I64<LocalApicState>("next_time", s => s.NextTime, (s, v) => s with { NextTime = v }),
            VmField.I64<LocalApicState>("timer_expiry", s => s.TimerExpiry, (s, v) => s with { TimerExpiry = v }),
        ],
        validate: Validate);

    public byte Id { get; init; }

    public byte ArbId { get; init; }

    public byte Tpr { get; init; }

    public uint SpuriousVector { get; init; } = 0xFF;

    public byte LogicalDestination { get; init; }

    public byte DestinationMode { get; init; } = 0xF;

    public uint[] Isr { get; init; } = new uint[8];

    public uint[] Tmr { get; init; } = new uint[8];

    public uint[] Irr { get; init; } = new uint[8];

    public uint[] Lvt { get; init; } = new uint[ApicRegister.LvtCount];

    public uint Esr { get; init; }

    public uint EsrPending { get; init; }

    public uint[] Icr { get; init; } = new uint[2];

    public uint DivideConfig { get; init; }

    public int CountShift { get; init; } = 1;

    public uint InitialCount { get; init; }

    public long InitialCountLoadTime { get; init; }

    public long NextTime { get; init; }

    /// <summary>The timer's deadline on the virtual clock, or -1 when it is not armed (QEMU's timer_expiry).</summary>
    public long TimerExpiry { get; init; } = -1;

    private static string? Validate(LocalApicState s)
    {
        if (s.CountShift is < 0 or > 7)
        {
            return $"count_shift {s.CountShift} is out of range, expected 0 to 7";
        }

        return null;
    }
}
