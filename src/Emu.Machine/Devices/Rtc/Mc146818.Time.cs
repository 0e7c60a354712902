namespace Emu.Machine.Devices.Rtc;

/// <summary>Conversion between the RTC's time and its BCD/binary, 12/24-hour registers (QEMU rtc_set_cmos, rtc_get_time).</summary>
public sealed partial class Mc146818
{
    private long RtcNowNs() => _rtcBaseNs + (_clock.NowNs - _clockBaseNs);

    /// <summary>Writes the current time into the time registers in the format register B selects.</summary>
    private void RefreshTimeRegisters()
    {
        long seconds = FloorDiv(RtcNowNs(), NsPerSecond);
        DateTime t = DateTime.UnixEpoch.AddSeconds(Math.Clamp(seconds, -62_135_596_800L, 253_402_300_799L));
        _cmos[RegSeconds] = ToRtc(t.Second);
        _cmos[RegMinutes] = ToRtc(t.Minute);
        if ((_cmos[RegB] & RegB24h) != 0)
        {
            _cmos[RegHours] = ToRtc(t.Hour);
        }
        else
        {
            int h = t.Hour % 12;
            _cmos[RegHours] = (byte)(ToRtc(h == 0 ? 12 : h) | (t.Hour >= 12 ? 0x80 : 0));
        }

        _cmos[RegDayOfWeek] = ToRtc((int)t.DayOfWeek + 1);
        _cmos[RegDayOfMonth] = ToRtc(t.Day);
        _cmos[RegMonth] = ToRtc(t.Month);
        _cmos[RegYear] = ToRtc(t.Year % 100);
        _cmos[RegCentury] = ToRtc(t.Year / 100);
    }

    /// <summary>
    /// Restarts the clock from what the guest wrote, <paramref name="phaseNs"/> into that second. A register that
    /// holds no valid time leaves the clock where it was, as a real part counts on from garbage without crashing.
    /// </summary>
    private void SetTimeFromRegisters(long phaseNs)
    {
        long now = _clock.NowNs;
        if (TryReadTimeRegisters(out long seconds))
        {
            _rtcBaseNs = (seconds * NsPerSecond) + phaseNs;
        }
        else
        {
            _rtcBaseNs = RtcNowNs();
        }

        _clockBaseNs = now;
        _lastSecondSeen = FloorDiv(_rtcBaseNs, NsPerSecond);
    }

    private bool TryReadTimeRegisters(out long seconds)
    {
        seconds = 0;
        int sec = FromRtc(_cmos[RegSeconds]);
        int min = FromRtc(_cmos[RegMinutes]);
        int hour = FromRtc(_cmos[RegHours] & 0x7F);
        if ((_cmos[RegB] & RegB24h) == 0)
        {
            hour %= 12;
            if ((_cmos[RegHours] & 0x80) != 0)
            {
                hour += 12;
            }
        }

        int day = FromRtc(_cmos[RegDayOfMonth]);
        int month = FromRtc(_cmos[RegMonth]);
        int year = FromRtc(_cmos[RegYear]) + (FromRtc(_cmos[RegCentury]) * 100);
        if (sec is < 0 or > 59 || min is < 0 or > 59 || hour is < 0 or > 23 || month is < 1 or > 12 ||
            year is < 1 or > 9999 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        seconds = (long)(new DateTime(year, month, day, hour, min, sec, DateTimeKind.Utc) - DateTime.UnixEpoch).TotalSeconds;
        return true;
    }

    private byte ToRtc(int value) =>
        (_cmos[RegB] & RegBDm) != 0 ? (byte)value : (byte)(((value / 10) << 4) | (value % 10));

    /// <summary>QEMU rtc_from_bcd; -1 for a value no register format can hold.</summary>
    private int FromRtc(int value)
    {
        if ((_cmos[RegB] & RegBDm) != 0)
        {
            return value;
        }

        int hi = value >> 4;
        int lo = value & 0x0F;
        return hi > 9 || lo > 9 ? -1 : (hi * 10) + lo;
    }
}
