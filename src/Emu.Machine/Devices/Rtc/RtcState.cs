namespace Emu.Machine.Devices.Rtc;

/// <summary>
/// The MC146818's migrated state (QEMU vmstate_rtc, in Emu's own layout): the 128 CMOS bytes, the index
/// register, and the virtual-clock anchors from which the time registers and timers are computed.
/// </summary>
public sealed record RtcState
{
    public ImmutableBytes Cmos { get; init; } = ImmutableBytes.Zero(Mc146818.CmosSize);

    public byte Index { get; init; }

    public bool NmiDisabled { get; init; }

    /// <summary>RTC time (ns since the Unix epoch, in whatever zone the guest keeps) at <see cref="ClockBaseNs"/>.</summary>
    public long RtcBaseNs { get; init; }

    /// <summary>The virtual-clock ns at which the RTC showed <see cref="RtcBaseNs"/>.</summary>
    public long ClockBaseNs { get; init; }

    /// <summary>The RTC second (since the epoch) up to which update-ended and alarm flags have been evaluated.</summary>
    public long LastSecondSeen { get; init; }

    /// <summary>Virtual-clock ns of the next periodic interrupt, or -1 while the periodic timer is off.</summary>
    public long NextPeriodicNs { get; init; } = -1;
}
