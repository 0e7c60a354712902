namespace Emu.Machine.Cpu;

/// <summary>
/// A host debugger's hold on the CPU (the GDB stub): breakpoints at linear addresses and single steps, invisible
/// to the guest (unlike DR0-DR3 and TF). While any is set, blocks run one instruction at a time, as for the
/// guest's own debug features; <see cref="Run"/> returns <see cref="CpuExitKind.DebuggerStop"/> at the stop.
/// Breakpoints and steps are set from the debugger's thread while the CPU is stopped.
/// </summary>
public sealed partial class X86Cpu
{
    private readonly HashSet<uint> _debuggerBreakpoints = [];
    private volatile bool _debuggerStep;
    private volatile bool _debuggerArmed;
    private bool _debuggerStopped;
    private uint? _debuggerResumeAt;

    /// <summary>CS:EIP as a linear address: where the CPU stands.</summary>
    public uint CurrentLinearEip => _seg[SegCs].Base + _eip;

    public void AddDebuggerBreakpoint(uint linear)
    {
        lock (_debuggerBreakpoints)
        {
            _debuggerBreakpoints.Add(linear);
            UpdateDebuggerArmed();
        }
    }

    public void RemoveDebuggerBreakpoint(uint linear)
    {
        lock (_debuggerBreakpoints)
        {
            _debuggerBreakpoints.Remove(linear);
            UpdateDebuggerArmed();
        }
    }

    /// <summary>Before the CPU runs again for the debugger: the instruction at the current EIP runs even if a breakpoint is on it; with <paramref name="step"/> it is the only one.</summary>
    public void ResumeForDebugger(bool step)
    {
        lock (_debuggerBreakpoints)
        {
            _debuggerResumeAt = CurrentLinearEip;
            _debuggerStep = step;
            UpdateDebuggerArmed();
        }
    }

    /// <summary>The debugger's view of the registers GDB's i386 target numbers 0-15: EAX ECX EDX EBX ESP EBP ESI EDI EIP EFLAGS CS SS DS ES FS GS.</summary>
    public uint ReadDebuggerRegister(int gdbIndex) => gdbIndex switch
    {
        < 8 => _gpr[GdbToGpr(gdbIndex)],
        8 => _eip,
        9 => GetEflags(),
        < 16 => _seg[GdbToSeg(gdbIndex)].Selector,
        _ => 0,
    };

    /// <summary>Writes a general register, EIP or EFLAGS (segment registers are left: a load needs the descriptor checks); false when not writable.</summary>
    public bool WriteDebuggerRegister(int gdbIndex, uint value)
    {
        switch (gdbIndex)
        {
            case < 8:
                _gpr[GdbToGpr(gdbIndex)] = value;
                return true;
            case 8:
                _eip = value;
                return true;
            case 9:
                SetEflags(value, 0x0025_7FD5);
                return true;
            default:
                return false;
        }
    }

    private static int GdbToGpr(int i) => i switch { 0 => RegEax, 1 => RegEcx, 2 => RegEdx, 3 => RegEbx, 4 => RegEsp, 5 => RegEbp, 6 => RegEsi, _ => RegEdi };

    private static int GdbToSeg(int i) => i switch { 10 => SegCs, 11 => SegSs, 12 => SegDs, 13 => SegEs, 14 => SegFs, _ => SegGs };

    private void UpdateDebuggerArmed() => _debuggerArmed = _debuggerStep || _debuggerBreakpoints.Count > 0;

    /// <summary>Before an instruction while armed: true when a breakpoint stops the CPU here.</summary>
    private bool DebuggerBreaksHere()
    {
        uint lin = CurrentLinearEip;
        if (_debuggerResumeAt == lin)
        {
            _debuggerResumeAt = null;
            return false;
        }

        _debuggerResumeAt = null;
        lock (_debuggerBreakpoints)
        {
            if (_debuggerBreakpoints.Contains(lin))
            {
                _debuggerStopped = true;
                return true;
            }
        }

        return false;
    }

    /// <summary>After an instruction while armed: a single step stops here.</summary>
    private void DebuggerStepDone()
    {
        if (_debuggerStep)
        {
            lock (_debuggerBreakpoints)
            {
                _debuggerStep = false;
                UpdateDebuggerArmed();
            }

            _debuggerStopped = true;
        }
    }
}
