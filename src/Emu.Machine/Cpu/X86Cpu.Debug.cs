namespace Emu.Machine.Cpu;

/// <summary>
/// Debug exceptions (QEMU bpt_helper.c): the single-step trap of EFLAGS.TF and DR0-DR3 instruction breakpoints.
/// While either is armed, blocks run one instruction at a time, so the checks cost nothing otherwise.
/// Data breakpoints (R/W ≠ 00) and the general-detect fault (DR7.GD) are not implemented.
/// </summary>
public sealed partial class X86Cpu
{
    internal const uint Dr6Bs = 0x4000;

    /// <summary>Interrupts and exceptions delivered since reset (tells the single-step trap an instruction raised one).</summary>
    private long _interruptsDelivered;

    /// <summary>True when TF or an enabled DR7 slot needs per-instruction debug checks.</summary>
    private bool DebugArmed => (_eflags & FlagTf) != 0 || (_dr[7] & 0xFF) != 0 || _debuggerArmed;

    /// <summary>
    /// Before an instruction: an enabled execute breakpoint at CS:EIP raises #DB as a fault, unless EFLAGS.RF says
    /// the instruction already took it (the handler's IRET sets RF). False when the fault was delivered.
    /// </summary>
    private bool CheckInstructionBreakpoints()
    {
        uint dr7 = _dr[7];
        if ((dr7 & 0xFF) == 0 || (_eflags & FlagRf) != 0)
        {
            return true;
        }

        uint lin = _seg[SegCs].Base + _eip;
        uint hits = 0;
        for (int i = 0; i < 4; i++)
        {
            bool enabled = ((dr7 >> (2 * i)) & 3) != 0;
            bool execute = ((dr7 >> (16 + 4 * i)) & 3) == 0;
            if (enabled && execute && _dr[i] == lin)
            {
                hits |= 1u << i;
            }
        }

        if (hits == 0)
        {
            return true;
        }

        _dr[6] = (_dr[6] & ~0xFu) | hits;
        RaiseFault(ExceptionDb);
        DeliverPendingFault();
        return false;
    }

    /// <summary>
    /// After one instruction run in debug mode: an RF that was set when the instruction started is cleared once it
    /// completes (an RF the instruction itself set, as IRET does, stays for the next one), and when TF was set at
    /// its start the single-step trap follows, unless it faulted, delivered an interrupt (INT n enters its handler
    /// with TF clear) or loaded SS (the trap waits one more instruction, as after MOV SS on real CPUs).
    /// </summary>
    private void FinishDebugStep(bool stepping, bool resumed, bool completed, long deliveredBefore, bool shadow)
    {
        if (!completed)
        {
            return;
        }

        if (resumed)
        {
            _eflags &= ~FlagRf;
        }

        if (stepping && !shadow && _interruptsDelivered == deliveredBefore && _shutdownReason == null)
        {
            _dr[6] |= Dr6Bs;
            _halted = false;
            DeliverException(ExceptionDb, 0, 0);
        }
    }
}
