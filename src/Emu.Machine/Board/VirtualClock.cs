using System.Diagnostics;

namespace Emu.Machine.Board;

/// <summary>
/// QEMU's QEMU_CLOCK_VIRTUAL: nanoseconds of guest run time. It advances with the host clock only while the
/// guest runs, so timers do not jump across a pause or a migration; the value migrates and the destination
/// continues from it. Timers fire on the vCPU thread from <see cref="RunDueTimers"/>.
/// </summary>
/// <remarks>
/// With an <see cref="InstructionCounter"/> (the vCPU's), one stretch of running guest time between two readings
/// is at most <see cref="MaxNsPerInstruction"/> per instruction retired in it: a host stall (a page fault, a
/// preempted vCPU thread, a JIT compile) is not seen by the guest as a 300 µs gap between two of its
/// back-to-back reads of the TSC or the PIT. Linux calibrates its TSC against PIT channel 2 that way and fails
/// when one loop iteration takes ten times another. The time held back (the lag) is paid back at a quarter of
/// the host's rate, running or idle (HLT, throttled, where no bound applies), so guest time keeps step with host
/// time over any interval a person would notice, and never by more than a quarter of a timer period, so a
/// periodic timer never has two ticks due at one check; <see cref="MaxLagNs"/> bounds the lag.
/// </remarks>
public sealed class VirtualClock
{
    /// <summary>The slowest guest instruction rate the clock believes in while the CPU runs: 10 MIPS.</summary>
    public const long MaxNsPerInstruction = 100;

    /// <summary>
    /// The most guest time may trail host time; beyond it the clock jumps. Large, because a jump makes timer
    /// ticks come due together and arrive one per slice, which Linux's clocksource watchdog reads as a TSC skew.
    /// </summary>
    public const long MaxLagNs = 2_000_000_000;

    private readonly object _lock = new();
    private readonly List<VirtualTimer> _timers = [];

    /// <summary>RunDueTimers' copy of the timer list (vCPU thread only), reused so a timer check allocates nothing.</summary>
    private VirtualTimer[] _due = [];
    private long _baseNs;
    private long _lastTicks;
    private long _lastInstructions;
    private long _lagNs;
    private bool _idle;
    private bool _running;

    public bool IsRunning => _running;

    /// <summary>Instructions the guest has retired so far (any thread may call it); null: plain host time.</summary>
    public Func<long>? InstructionCounter { get; set; }

    public long NowNs
    {
        get
        {
            lock (_lock)
            {
                return _running ? Advance() : _baseNs;
            }
        }
    }

    /// <summary>Time guest readings have been held back by and not yet paid back (diagnostics, tests).</summary>
    public long LagNs
    {
        get
        {
            lock (_lock)
            {
                return _lagNs;
            }
        }
    }

    /// <summary>The vCPU halts or sleeps (true) or runs again (false): idle time passes at the host's pace.</summary>
    public void SetIdle(bool idle)
    {
        lock (_lock)
        {
            // Called every slice with false: only a change of state needs the reading taken under the old one.
            if (_idle == idle)
            {
                return;
            }

            if (_running)
            {
                Advance();
            }

            _idle = idle;
        }
    }

    public void Resume()
    {
        lock (_lock)
        {
            if (!_running)
            {
                _lastTicks = Stopwatch.GetTimestamp();
                _lastInstructions = InstructionCounter?.Invoke() ?? 0;
                _running = true;
            }
        }
    }

    public void Pause()
    {
        lock (_lock)
        {
            if (_running)
            {
                Advance();
                _lagNs = 0;
                _running = false;
            }
        }
    }

    /// <summary>Sets the clock (incoming migration). Only while paused.</summary>
    public void Set(long ns)
    {
        lock (_lock)
        {
            if (_running)
            {
                throw new InvalidOperationException("clock: cannot set the virtual clock while the guest runs");
            }

            _baseNs = ns;
        }
    }

    /// <summary>Moves <see cref="_baseNs"/> to now: host time since the last reading, bounded while the CPU runs.</summary>
    private long Advance()
    {
        long ticks = Stopwatch.GetTimestamp();
        long step = ElapsedNs(_lastTicks, ticks);
        _lastTicks = ticks;
        Func<long>? counter = InstructionCounter;
        if (counter != null)
        {
            long instructions = counter();
            long bound = Math.Max(0, instructions - _lastInstructions) * MaxNsPerInstruction;
            _lastInstructions = instructions;
            if (!_idle && step > bound)
            {
                _lagNs += step - bound;
                step = bound;
            }
            else if (_lagNs > 0)
            {
                long repay = Math.Min(_lagNs, _idle ? step / 4 : Math.Min(step / 4, bound - step));
                step += repay;
                _lagNs -= repay;
            }

            if (_lagNs > MaxLagNs)
            {
                step += _lagNs - MaxLagNs;
                _lagNs = MaxLagNs;
            }
        }

        _baseNs += step;
        return _baseNs;
    }

    public VirtualTimer CreateTimer(string name, Action<long> callback)
    {
        var t = new VirtualTimer(name, callback);
        lock (_lock)
        {
            _timers.Add(t);
        }

        return t;
    }

    /// <summary>The earliest armed deadline, or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadlineNs
    {
        get
        {
            long next = long.MaxValue;
            lock (_lock)
            {
                foreach (VirtualTimer t in _timers)
                {
                    next = Math.Min(next, t.DeadlineNs);
                }
            }

            return next;
        }
    }

    /// <summary>
    /// Fires every timer whose deadline has passed, each at most once per call: a periodic timer that fell behind
    /// delivers its ticks one per check, so the guest takes each one (an edge raised while the last is still
    /// pending would be lost, as Linux's jiffies would be).
    /// </summary>
    public void RunDueTimers()
    {
        long now = NowNs;
        int count;
        lock (_lock)
        {
            count = _timers.Count;
            if (_due.Length < count)
            {
                _due = new VirtualTimer[count];
            }

            _timers.CopyTo(_due);
        }

        for (int i = 0; i < count; i++)
        {
            VirtualTimer t = _due[i];
            if (t.DeadlineNs <= now)
            {
                t.Disarm();
                t.Fire(now);
            }
        }
    }

    private static long ElapsedNs(long fromTicks, long toTicks) =>
        (long)((toTicks - fromTicks) * (1e9 / Stopwatch.Frequency));
}

/// <summary>A one-shot timer on the <see cref="VirtualClock"/>; re-arm from the callback for periodic ones.</summary>
public sealed class VirtualTimer
{
    private readonly Action<long> _callback;
    private long _deadlineNs = long.MaxValue;

    internal VirtualTimer(string name, Action<long> callback)
    {
        Name = name;
        _callback = callback;
    }

    public string Name { get; }

    public long DeadlineNs => Volatile.Read(ref _deadlineNs);

    public bool IsArmed => DeadlineNs != long.MaxValue;

    public void Arm(long deadlineNs) => Volatile.Write(ref _deadlineNs, deadlineNs);

    public void Disarm() => Volatile.Write(ref _deadlineNs, long.MaxValue);

    internal void Fire(long nowNs) => _callback(nowNs);
}
