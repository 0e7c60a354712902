namespace Emu.Machine.Devices.Pic;

/// <summary>One 8259A's migrated state; the fields and their order are QEMU's vmstate_pic_common.</summary>
public sealed record PicState
{
    public byte LastIrr { get; init; }

    public byte Irr { get; init; }

    public byte Imr { get; init; }

    public byte Isr { get; init; }

    public byte PriorityAdd { get; init; }

    public byte IrqBase { get; init; }

    public bool ReadRegSelect { get; init; }

    public bool Poll { get; init; }

    public bool SpecialMask { get; init; }

    /// <summary>0 = operational, 1–3 = waiting for ICW2–ICW4.</summary>
    public byte InitState { get; init; }

    public bool AutoEoi { get; init; }

    public bool RotateOnAutoEoi { get; init; }

    public bool SpecialFullyNestedMode { get; init; }

    public bool Init4 { get; init; }

    public bool SingleMode { get; init; }

    public byte Elcr { get; init; }
}
