namespace Emu.Machine.Board;

/// <summary>Run state and vCPU control: stop at a safe point, start, throttle.</summary>
public sealed partial class PcMachine
{
    private readonly object _gate = new();
    private RunState _runState = RunState.Prelaunch;
    private bool _runRequested;
    private bool _vcpuParked;
    private bool _quit;
    private volatile bool _resetPending;
    private int _throttlePercent;

    public event Action<RunState>? RunStateChanged;

    public RunState RunState
    {
        get
        {
            lock (_gate)
            {
                return _runState;
            }
        }
    }

    public int ThrottlePercent
    {
        get => Volatile.Read(ref _throttlePercent);
        set
        {
            if (value is < 0 or > 99)
            {
                throw new ArgumentOutOfRangeException(nameof(value), $"machine: throttle {value} % is outside 0..99");
            }

            Volatile.Write(ref _throttlePercent, value);
        }
    }

    /// <summary>QEMU vm_stop: parks the vCPU at an instruction boundary, pauses the virtual clock, enters <paramref name="state"/>.</summary>
    public void Stop(RunState state)
    {
        lock (_gate)
        {
            _runRequested = false;
            Cpu.RequestExit();
            _wake.Set();
            while (!_vcpuParked && !_quit)
            {
                Monitor.Wait(_gate);
            }

            Clock.Pause();
        }

        SetRunState(state);
    }

    /// <summary>A debugger's breakpoint or step ended: raised on the vCPU thread once the machine is in <see cref="RunState.Debug"/>.</summary>
    public event Action? DebugStopped;

    /// <summary>
    /// On the vCPU thread, at a debugger's stop: as <see cref="Stop"/> with state debug, without waiting for the
    /// vCPU to park (it is this thread; it parks on its next loop).
    /// </summary>
    private void EnterDebugStop()
    {
        lock (_gate)
        {
            _runRequested = false;
            Clock.Pause();
        }

        SetRunState(RunState.Debug);
        DebugStopped?.Invoke();
    }

    /// <summary>QEMU vm_start: resumes the virtual clock and the vCPU.</summary>
    public void Start()
    {
        ThrowIfEnded();

        // The state first, then the vCPU (QEMU vm_prepare_start, then resume_all_vcpus): set after the vCPU was let
        // go, "running" could land after a debugger step that had already stopped it again in state debug, and a
        // GDB detach that saw "running" left the guest parked for good (GdbStubTests, on a loaded machine).
        SetRunState(RunState.Running);
        lock (_gate)
        {
            ThrowIfEnded();
            Clock.Resume();
            _runRequested = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void ThrowIfEnded()
    {
        if (_quit)
        {
            throw new InvalidOperationException("machine: cannot start a machine that has ended");
        }
    }

    public void SetRunState(RunState state)
    {
        bool changed;
        lock (_gate)
        {
            changed = _runState != state;
            _runState = state;
        }

        if (changed)
        {
            Log.Debug("run state {RunState}", state.ToQmp());
            RunStateChanged?.Invoke(state);
        }
    }

    /// <summary>Wakes a halted vCPU (an interrupt raised from another thread: serial or keyboard input).</summary>
    public void Kick() => _wake.Set();

    public void FlushCpuCaches() => Cpu.FlushCaches();

    /// <summary>QMP system_reset: the CPU back to its boot state (devices keep their state, as after a soft reset).</summary>
    public void SystemReset()
    {
        _resetPending = true;
        Cpu.RequestExit();
        _wake.Set();
    }

    /// <summary>Ends the vCPU thread for good.</summary>
    public void Quit()
    {
        lock (_gate)
        {
            _quit = true;
            _runRequested = false;
            Cpu.RequestExit();
            _wake.Set();
            Monitor.PulseAll(_gate);
        }

        if (Thread.CurrentThread != _vcpuThread)
        {
            _vcpuThread.Join();
        }
    }

    private void EndMachine(MachineExit exit)
    {
        lock (_gate)
        {
            _quit = true;
            _runRequested = false;
            Cpu.RequestExit();
            Monitor.PulseAll(_gate);
        }

        Clock.Pause();
        SetRunState(RunState.Shutdown);
        Exited?.Invoke(exit);
    }
}
