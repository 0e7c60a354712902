namespace Emu.Machine.Devices.Pit;

/// <summary>
/// One 8254 counter as QEMU's hw/timer/i8254.c: nothing ticks; the count and the output are computed from the
/// virtual time since the count was loaded, and only the next output change is scheduled.
/// </summary>
internal sealed class PitChannel
{
    public const long Frequency = 1_193_182;
    internal const long NsPerSecond = 1_000_000_000;

    public const byte RwStateLsb = 1;
    public const byte RwStateMsb = 2;
    public const byte RwStateWord0 = 3;
    public const byte RwStateWord1 = 4;

    public int Count = 0x10000;
    public ushort LatchedCount;
    public byte CountLatched;
    public bool StatusLatched;
    public byte Status;
    public byte ReadState;
    public byte WriteState;
    public byte WriteLatch;
    public byte RwMode;
    public byte Mode;
    public bool Bcd;
    public bool Gate;
    public long CountLoadTime;
    public long NextTransitionTime = -1;

    /// <summary>QEMU pit_get_count: the counter's value at <paramref name="nowNs"/>.</summary>
    public int GetCount(long nowNs)
    {
        long d = Ticks(nowNs);
        return Mode switch
        {
            0 or 1 or 4 or 5 => (int)((Count - d) & 0xFFFF),
            3 => (int)(Count - (2 * d % Count)),
            _ => (int)(Count - (d % Count)),
        };
    }

    /// <summary>
    /// The OUT pin at <paramref name="nowNs"/> (QEMU pit_get_out, with the 8254 data sheet's levels): modes 0/1 go
    /// high at terminal count; mode 2 is high except for the last tick of each period; mode 3 is high for the
    /// first half; modes 4/5 pulse low for the tick at terminal count. Every mode's rising edge is its IRQ 0.
    /// </summary>
    public bool GetOut(long nowNs)
    {
        long d = Ticks(nowNs);
        return Mode switch
        {
            2 => d % Count != Count - 1,
            3 => d % Count < ((Count + 1) >> 1),
            4 or 5 => d != Count,
            _ => d >= Count,
        };
    }

    /// <summary>QEMU pit_get_next_transition_time: when OUT next changes after <paramref name="nowNs"/>, or -1.</summary>
    public long GetNextTransitionTime(long nowNs)
    {
        long d = Ticks(nowNs);
        long next;
        switch (Mode)
        {
            case 2:
                {
                    long bas = d / Count * Count;
                    next = d - bas == Count - 1 ? bas + Count : bas + Count - 1;
                    break;
                }

            case 3:
                {
                    long bas = d / Count * Count;
                    long half = (Count + 1) >> 1;
                    next = d - bas < half ? bas + half : bas + Count;
                    break;
                }

            case 4:
            case 5:
                if (d < Count)
                {
                    next = Count;
                }
                else if (d == Count)
                {
                    next = Count + 1;
                }
                else
                {
                    return -1;
                }

                break;
            default:
                if (d >= Count)
                {
                    return -1;
                }

                next = Count;
                break;
        }

        long ns = CountLoadTime + MulDiv64.ScaleCeiling(next, NsPerSecond, Frequency);

        // Rounding must never schedule the change at or before the instant it was computed for.
        return ns <= nowNs ? nowNs + 1 : ns;
    }

    /// <summary>QEMU pit_latch_count: the first latch command wins until the latched count has been read.</summary>
    public void LatchCount(long nowNs)
    {
        if (CountLatched == 0)
        {
            LatchedCount = (ushort)GetCount(nowNs);
            CountLatched = RwMode;
        }
    }

    public void LatchStatus(long nowNs)
    {
        if (!StatusLatched)
        {
            Status = (byte)(((GetOut(nowNs) ? 1 : 0) << 7) | (RwMode << 4) | (Mode << 1) | (Bcd ? 1 : 0));
            StatusLatched = true;
        }
    }

    /// <summary>QEMU pit_ioport_read for one counter.</summary>
    public byte ReadCounter(long nowNs)
    {
        if (StatusLatched)
        {
            StatusLatched = false;
            return Status;
        }

        if (CountLatched != 0)
        {
            switch (CountLatched)
            {
                case RwStateMsb:
                    CountLatched = 0;
                    return (byte)(LatchedCount >> 8);
                case RwStateWord0:
                    CountLatched = RwStateMsb;
                    return (byte)LatchedCount;
                default:
                    CountLatched = 0;
                    return (byte)LatchedCount;
            }
        }

        int count = GetCount(nowNs);
        switch (ReadState)
        {
            case RwStateMsb:
                return (byte)(count >> 8);
            case RwStateWord0:
                ReadState = RwStateWord1;
                return (byte)count;
            case RwStateWord1:
                ReadState = RwStateWord0;
                return (byte)(count >> 8);
            default:
                return (byte)count;
        }
    }

    public PitChannelState Save() => new()
    {
        Count = Count,
        LatchedCount = LatchedCount,
        CountLatched = CountLatched,
        StatusLatched = StatusLatched,
        Status = Status,
        ReadState = ReadState,
        WriteState = WriteState,
        WriteLatch = WriteLatch,
        RwMode = RwMode,
        Mode = Mode,
        Bcd = Bcd,
        Gate = Gate,
        CountLoadTime = CountLoadTime,
        NextTransitionTime = NextTransitionTime,
    };

    public void Load(PitChannelState s)
    {
        Count = s.Count;
        LatchedCount = s.LatchedCount;
        CountLatched = s.CountLatched;
        StatusLatched = s.StatusLatched;
        Status = s.Status;
        ReadState = s.ReadState;
        WriteState = s.WriteState;
        WriteLatch = s.WriteLatch;
        RwMode = s.RwMode;
        Mode = s.Mode;
        Bcd = s.Bcd;
        Gate = s.Gate;
        CountLoadTime = s.CountLoadTime;
        NextTransitionTime = s.NextTransitionTime;
    }

    public static string? Validate(PitChannelState s, int index)
    {
        if (s.Count < 1 || s.Count > 0x10000)
        {
            return $"channel {index} count {s.Count} is out of range, expected 1 to 65536";
        }

        if (s.Mode > 5)
        {
            return $"channel {index} mode {s.Mode} is out of range, expected 0 to 5";
        }

        if (s.RwMode > 3 || s.CountLatched > 3)
        {
            return $"channel {index} access mode {s.RwMode}/{s.CountLatched} is out of range, expected 0 to 3";
        }

        if (s.ReadState > RwStateWord1 || s.WriteState > RwStateWord1)
        {
            return $"channel {index} read/write state {s.ReadState}/{s.WriteState} is out of range, expected 0 to 4";
        }

        if (s.NextTransitionTime < -1)
        {
            return $"channel {index} next transition {s.NextTransitionTime} is negative";
        }

        return null;
    }

    /// <summary>Input clock ticks since the count was loaded (QEMU muldiv64(now - load, PIT_FREQ, NS)).</summary>
    private long Ticks(long nowNs) => MulDiv64.Scale(nowNs - CountLoadTime, Frequency, NsPerSecond);
}
