using Emu.Machine.Board;

namespace Emu.Machine.Devices.Apic;

/// <summary>
/// The APIC timer (QEMU apic_timer_update / apic_get_current_count): it counts down from the initial count at the
/// bus clock divided by the divide configuration, one-shot or periodic. The bus clock is the virtual clock's
/// nanosecond (1 GHz), as QEMU's; the count is computed from the load time, never ticked.
/// </summary>
public sealed partial class LocalApic
{
    private readonly VirtualClock _clock;
    private readonly VirtualTimer _timer;
    private uint _divideConfig;
    private int _countShift;
    private uint _initialCount;
    private long _initialCountLoadTime;
    private long _nextTime;

    private void ResetTimer()
    {
        _divideConfig = 0;
        _countShift = 1;
        _initialCount = 0;
        _initialCountLoadTime = 0;
        _nextTime = 0;
        _timer.Disarm();
    }

    private void LoadInitialCount(uint count)
    {
        _initialCount = count;
        _initialCountLoadTime = _clock.NowNs;
        UpdateTimer(_initialCountLoadTime);
    }

    /// <summary>Divide configuration bits 0, 1 and 3: 000 = ÷2 … 110 = ÷128, 111 = ÷1.</summary>
    private void SetDivide(uint value)
    {
        _divideConfig = value & 0xB;
        uint v = (value & 3) | ((value >> 1) & 4);
        _countShift = (int)((v + 1) & 7);
    }

    private bool Periodic => (_lvt[ApicRegister.LvtIndexTimer] & ApicRegister.LvtTimerPeriodic) != 0;

    private uint CurrentCount(long now)
    {
        if (_initialCount == 0)
        {
            return 0;
        }

        ulong elapsed = (ulong)Math.Max(now - _initialCountLoadTime, 0) >> _countShift;
        if (Periodic)
        {
            return (uint)(_initialCount - (elapsed % ((ulong)_initialCount + 1)));
        }

        return elapsed >= _initialCount ? 0 : (uint)(_initialCount - elapsed);
    }

    /// <summary>Arms the timer for the next time the count reaches zero after <paramref name="now"/>, if it will.</summary>
    private void UpdateTimer(long now)
    {
        ulong elapsed = (ulong)Math.Max(now - _initialCountLoadTime, 0) >> _countShift;
        ulong period = (ulong)_initialCount + 1;
        ulong expiry;
        if (Periodic && _initialCount != 0)
        {
            expiry = ((elapsed / period) + 1) * period;
        }
        else if (!Periodic && elapsed < _initialCount)
        {
            expiry = period;
        }
        else
        {
            _timer.Disarm();
            return;
        }

        _nextTime = _initialCountLoadTime + (long)(expiry << _countShift);
        _timer.Arm(_nextTime);
    }

    private void TimerExpired()
    {
        DeliverLocal(ApicRegister.LvtIndexTimer);
        UpdateTimer(_nextTime);
    }

    private void LoadTimer(LocalApicState state)
    {
        _divideConfig = state.DivideConfig & 0xB;
        _countShift = state.CountShift;
        _initialCount = state.InitialCount;
        _initialCountLoadTime = state.InitialCountLoadTime;
        _nextTime = state.NextTime;
        if (state.TimerExpiry >= 0)
        {
            _timer.Arm(state.TimerExpiry);
        }
        else
        {
            _timer.Disarm();
        }
    }
}
