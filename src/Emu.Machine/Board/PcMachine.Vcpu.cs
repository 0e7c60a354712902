using System.Diagnostics;
using Emu.Machine.Cpu;

namespace Emu.Machine.Board;

/// <summary>The vCPU thread: run slices, fire timers between them, wait in HLT, honour stop requests and throttling.</summary>
public sealed partial class PcMachine
{
    /// <summary>QEMU CPU_THROTTLE_TIMESLICE_NS: the vCPU runs this long between throttle sleeps.</summary>
    public const long ThrottleTimesliceNs = 10_000_000;

    /// <summary>The shortest slice, so closing in on a deadline does not turn into a slice per instruction.</summary>
    private const long MinSliceInstructions = 10_000;

    private readonly Thread _vcpuThread;
    private readonly ManualResetEventSlim _wake = new(false);
    private long _sliceStartTicks;

    /// <summary>The vCPU's host thread id (Linux gettid), 0 until the thread runs.</summary>
    public long VcpuThreadId { get; private set; }

    private void VcpuLoop()
    {
        VcpuThreadId = HostThread.CurrentId();
        _dirtyQuota.BindToCurrentThread();
        try
        {
            while (WaitUntilRunRequested())
            {
                if (_resetPending)
                {
                    _resetPending = false;
                    ResetCpuToBoot();
                }

                Clock.RunDueTimers();
                Throttle();
                DirtyLimitWait();
                Clock.SetIdle(false);
                CpuExitKind exit = Cpu.Run(SliceBudget());
                switch (exit)
                {
                    case CpuExitKind.Halted:
                        WaitForInterrupt();
                        break;
                    case CpuExitKind.Shutdown:
                        TripleFault();
                        break;
                    case CpuExitKind.DebuggerStop:
                        EnterDebugStop();
                        break;
                }
            }
        }
        catch (Emu.Machine.Memory.GuestPageUnavailableException e)
        {
            // Postcopy lost the source for good: the guest cannot run without its pages; end with the reason.
            // The exit line carries the reason to the user; the log keeps it at debug level so it is not said twice.
            Log.Debug("vCPU stopped: {Reason}", e.Message);
            EndMachine(new MachineExit(1, "host-error", $"emu: {e.Message}; the guest cannot continue without its memory"));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in the emulator, not the guest: end with one line, detail in the log.
            Log.Error(e, "vCPU thread failed");
            EndMachine(new MachineExit(1, "host-error", $"emu: internal error on vcpu/0: {e.Message}"));
        }
    }

    /// <summary>Parks at a safe point while stopped; returns false when the machine has ended.</summary>
    private bool WaitUntilRunRequested()
    {
        lock (_gate)
        {
            if (_runRequested && !_quit)
            {
                return true;
            }

            _vcpuParked = true;
            Monitor.PulseAll(_gate);
            while (!_runRequested && !_quit)
            {
                Monitor.Wait(_gate);
            }

            _vcpuParked = false;
            _sliceStartTicks = Stopwatch.GetTimestamp();
            if (_quit)
            {
                _vcpuParked = true;
                Monitor.PulseAll(_gate);
                return false;
            }

            return true;
        }
    }

    /// <summary>
    /// Auto-converge's brake, as QEMU cpu_throttle_thread: after each 10 ms of running, sleep
    /// pct / (1 − pct) × 10 ms. The virtual clock keeps running: to the guest the CPU is just slower.
    /// </summary>
    private void Throttle()
    {
        int pct = ThrottlePercent;
        long now = Stopwatch.GetTimestamp();
        if (pct == 0)
        {
            _sliceStartTicks = now;
            return;
        }

        if (Stopwatch.GetElapsedTime(_sliceStartTicks, now).Ticks * 100 < ThrottleTimesliceNs)
        {
            return;
        }

        double ratio = pct / 100.0;
        var sleep = TimeSpan.FromTicks((long)(ratio / (1 - ratio) * ThrottleTimesliceNs / 100));
        Clock.SetIdle(true);
        _wake.Reset();
        _wake.Wait(sleep);
        _sliceStartTicks = Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// The dirty-page limit's brake (QEMU dirtylimit_vcpu_execute): a vCPU that spent its quota for the period waits
    /// for the period's end, as a throttled one sleeps; a stop request ends the wait. The virtual clock runs on.
    /// </summary>
    private void DirtyLimitWait()
    {
        long waitTicks = _dirtyQuota.OnSafePoint();
        if (waitTicks <= 0)
        {
            return;
        }

        Clock.SetIdle(true);
        _wake.Reset();

        // Stop sets _wake after clearing _runRequested: a Set that came before the Reset above is seen here.
        if (Volatile.Read(ref _runRequested))
        {
            _wake.Wait(Stopwatch.GetElapsedTime(0, waitTicks));
        }
    }

    /// <summary>
    /// Instructions to run before the next timer check: the whole slice, or fewer when a timer comes due sooner,
    /// counted at the virtual clock's slowest rate (<see cref="VirtualClock.MaxNsPerInstruction"/>), so a slice
    /// never carries guest time past the deadline and the next ones close in on it: a PIT tick is late by tens of
    /// microseconds, not by a slice, and never two come due at one check.
    /// </summary>
    private long SliceBudget()
    {
        long next = Clock.NextDeadlineNs;
        if (next == long.MaxValue)
        {
            return _options.SliceInstructions;
        }

        return Math.Clamp((next - Clock.NowNs) / VirtualClock.MaxNsPerInstruction, MinSliceInstructions, _options.SliceInstructions);
    }

    /// <summary>HLT: sleep until the next timer deadline, an interrupt from another thread, or a stop request.</summary>
    private void WaitForInterrupt()
    {
        Clock.SetIdle(true);
        long next = Clock.NextDeadlineNs;
        long now = Clock.NowNs;
        long waitNs = Math.Clamp(next - now, 0, 10_000_000);
        if (waitNs > 0)
        {
            _wake.Reset();
            _wake.Wait(TimeSpan.FromTicks(waitNs / 100));
        }
    }

    private void TripleFault()
    {
        string reason = Cpu.ShutdownReason ?? "triple fault";
        if (_options.NoReboot)
        {
            Log.Warning("guest {Reason}; -no-reboot ends the machine", reason);
            EndMachine(new MachineExit(0, "guest-reset", $"emu: guest {reason}; stopped (-no-reboot)"));
            return;
        }

        Log.Warning("guest {Reason}; resetting", reason);
        ResetCpuToBoot();
    }
}
