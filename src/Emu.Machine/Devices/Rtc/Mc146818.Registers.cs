namespace Emu.Machine.Devices.Rtc;

/// <summary>Register reads and writes, and the interrupt sources (QEMU cmos_ioport_read/write).</summary>
public sealed partial class Mc146818
{
    internal const int RegSeconds = 0x00;
    internal const int RegSecondsAlarm = 0x01;
    internal const int RegMinutes = 0x02;
    internal const int RegMinutesAlarm = 0x03;
    internal const int RegHours = 0x04;
    internal const int RegHoursAlarm = 0x05;
    internal const int RegDayOfWeek = 0x06;
    internal const int RegDayOfMonth = 0x07;
    internal const int RegMonth = 0x08;
    internal const int RegYear = 0x09;
    internal const int RegA = 0x0A;
    internal const int RegB = 0x0B;
    internal const int RegC = 0x0C;
    internal const int RegD = 0x0D;
    internal const int RegCentury = 0x32;

    internal const byte RegAUip = 0x80;
    internal const byte RegBSet = 0x80;
    internal const byte RegBPie = 0x40;
    internal const byte RegBAie = 0x20;
    internal const byte RegBUie = 0x10;
    internal const byte RegBDm = 0x04;
    internal const byte RegB24h = 0x02;
    internal const byte RegCIrqf = 0x80;
    internal const byte RegCPf = 0x40;
    internal const byte RegCAf = 0x20;
    internal const byte RegCUf = 0x10;
    internal const byte RegCSources = 0x70;
    internal const byte RegDVrt = 0x80;

    /// <summary>QEMU rtc_running: not in SET mode and the divider chain not held in reset.</summary>
    private bool Running => (_cmos[RegB] & RegBSet) == 0 && (_cmos[RegA] & 0x70) <= 0x20;

    private static bool IsTimeRegister(int index) =>
        index is RegSeconds or RegMinutes or RegHours or RegDayOfWeek or RegDayOfMonth or RegMonth or RegYear or RegCentury;

    private uint IoReadRegister(int index)
    {
        switch (index)
        {
            case RegA:
                {
                    long sub = RtcNowNs() - (FloorDiv(RtcNowNs(), NsPerSecond) * NsPerSecond);
                    bool uip = Running && sub >= NsPerSecond - UipWindowNs;
                    return (uint)(_cmos[RegA] | (uip ? RegAUip : 0));
                }

            case RegC:
                {
                    CatchUpFlags();
                    byte value = _cmos[RegC];
                    _cmos[RegC] = 0;
                    UpdateIrqLine();
                    return value;
                }

            default:
                if (IsTimeRegister(index) && Running)
                {
                    RefreshTimeRegisters();
                }

                return _cmos[index];
        }
    }

    private void WriteRegister(int index, byte value)
    {
        switch (index)
        {
            case RegA:
                {
                    bool wasRunning = Running;
                    if (wasRunning)
                    {
                        RefreshTimeRegisters();
                    }

                    _cmos[RegA] = (byte)(value & ~RegAUip);
                    RestartIfStarted(wasRunning);
                    UpdatePeriodicTimer(_clock.NowNs);
                    ArmUpdateTimer();
                    break;
                }

            case RegB:
                WriteRegB(value);
                break;
            case RegC:
            case RegD:
                // Read-only.
                break;
            default:
                if (IsTimeRegister(index) && Running)
                {
                    // Keep the other fields current, change one, and run on from the new time.
                    RefreshTimeRegisters();
                    _cmos[index] = value;
                    long phase = RtcNowNs() - (FloorDiv(RtcNowNs(), NsPerSecond) * NsPerSecond);
                    SetTimeFromRegisters(phase);
                    ArmUpdateTimer();
                }
                else
                {
                    _cmos[index] = value;
                    if (index is RegSecondsAlarm or RegMinutesAlarm or RegHoursAlarm)
                    {
                        ArmUpdateTimer();
                    }
                }

                break;
        }
    }

    private void WriteRegB(byte value)
    {
        bool wasRunning = Running;
        if ((value & RegBSet) != 0)
        {
            // Entering SET freezes the registers at the current time and clears UIE (as the data sheet says).
            if (wasRunning)
            {
                RefreshTimeRegisters();
            }

            value = (byte)(value & ~RegBUie);
        }

        _cmos[RegB] = value;
        RestartIfStarted(wasRunning);

        // A source already flagged in C interrupts as soon as it is enabled; disabling all withdraws IRQF.
        if ((value & _cmos[RegC] & RegCSources) != 0)
        {
            _cmos[RegC] |= RegCIrqf;
        }
        else
        {
            _cmos[RegC] &= unchecked((byte)~RegCIrqf);
        }

        UpdateIrqLine();
        UpdatePeriodicTimer(_clock.NowNs);
        ArmUpdateTimer();
    }

    /// <summary>Leaving SET or divider reset starts the clock from the registers at a whole second.</summary>
    private void RestartIfStarted(bool wasRunning)
    {
        if (!wasRunning && Running)
        {
            SetTimeFromRegisters(0);
        }
    }

    /// <summary>QEMU periodic_timer_update: the rate from register A, on a grid of 32.768 kHz cycles.</summary>
    private void UpdatePeriodicTimer(long fromNs)
    {
        int rate = _cmos[RegA] & 0x0F;
        if (rate == 0 || (_cmos[RegB] & RegBPie) == 0)
        {
            _nextPeriodicNs = -1;
            _periodicTimer.Disarm();
            return;
        }

        if (rate <= 2)
        {
            rate += 7;
        }

        long period = 1L << (rate - 1);
        long cycles = MulDiv64.Scale(fromNs, BaseFrequency, NsPerSecond);
        long nextCycle = ((cycles / period) + 1) * period;
        long next = MulDiv64.ScaleCeiling(nextCycle, NsPerSecond, BaseFrequency);
        _nextPeriodicNs = next <= fromNs ? fromNs + 1 : next;
        _periodicTimer.Arm(_nextPeriodicNs);
    }

    private void OnPeriodicTimer()
    {
        _cmos[RegC] |= RegCPf;
        if ((_cmos[RegB] & RegBPie) != 0)
        {
            _cmos[RegC] |= RegCIrqf;
        }

        UpdateIrqLine();
        UpdatePeriodicTimer(_nextPeriodicNs);
    }

    private void OnUpdateTimer()
    {
        CatchUpFlags();
        ArmUpdateTimer();
    }

    /// <summary>Arms the once-a-second timer while update-ended or alarm interrupts are enabled.</summary>
    private void ArmUpdateTimer()
    {
        if (!Running || (_cmos[RegB] & (RegBUie | RegBAie)) == 0)
        {
            _updateTimer.Disarm();
            return;
        }

        long nextRtcNs = (_lastSecondSeen + 1) * NsPerSecond;
        _updateTimer.Arm(_clockBaseNs + (nextRtcNs - _rtcBaseNs));
    }

    /// <summary>
    /// The update cycle, evaluated lazily: if a second boundary passed since the last look, set UF (and AF when the
    /// alarm matches the current time), then IRQF for enabled sources.
    /// </summary>
    private void CatchUpFlags()
    {
        if (!Running)
        {
            return;
        }

        long second = FloorDiv(RtcNowNs(), NsPerSecond);
        if (second <= _lastSecondSeen)
        {
            return;
        }

        _lastSecondSeen = second;
        RefreshTimeRegisters();
        _cmos[RegC] |= RegCUf;
        if (AlarmMatches(RegSecondsAlarm, RegSeconds) && AlarmMatches(RegMinutesAlarm, RegMinutes) &&
            AlarmMatches(RegHoursAlarm, RegHours))
        {
            _cmos[RegC] |= RegCAf;
        }

        if ((_cmos[RegC] & _cmos[RegB] & RegCSources) != 0)
        {
            _cmos[RegC] |= RegCIrqf;
        }

        UpdateIrqLine();
    }

    /// <summary>An alarm byte with its top two bits set matches any value ("don't care").</summary>
    private bool AlarmMatches(int alarm, int time) => (_cmos[alarm] & 0xC0) == 0xC0 || _cmos[alarm] == _cmos[time];
}
