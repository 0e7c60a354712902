using System.Diagnostics;

namespace Emu.Machine.Board;

/// <summary>
/// QEMU's QEMU_CLOCK_VIRTUAL: nanoseconds of guest run time. It advances with the host clock only while the
/// guest runs, so timers do not jump across a pause or a migration; the value migrates and the destination
/// continues from it. Timers fire on the vCPU thread from <see cref="RunDueTimers"/>.
/// </summary>
public sealed class VirtualClock
{
    private readonly object _lock = new();
    private readonly List<VirtualTimer> _timers = [];
    private long _baseNs;
    private long _resumedAtTicks;
    private bool _running;

    public bool IsRunning => _running;

    public long NowNs
    {
        get
        {
            lock (_lock)
            {
                return _running ? _baseNs + ElapsedNs(_resumedAtTicks) : _baseNs;
            }
        }
    }

    public void Resume()
    {
        lock (_lock)
        {
            if (!_running)
            {
                _resumedAtTicks = Stopwatch.GetTimestamp();
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
                _baseNs += ElapsedNs(_resumedAtTicks);
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

    /// <summary>Fires every timer whose deadline has passed (each at most once per call).</summary>
    public void RunDueTimers()
    {
        long now = NowNs;
        VirtualTimer[] timers;
        lock (_lock)
        {
            timers = [.. _timers];
        }

        foreach (VirtualTimer t in timers)
        {
            if (t.DeadlineNs <= now)
            {
                t.Disarm();
                t.Fire(now);
            }
        }
    }

    private static long ElapsedNs(long fromTicks) =>
        (long)((Stopwatch.GetTimestamp() - fromTicks) * (1e9 / Stopwatch.Frequency));
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
