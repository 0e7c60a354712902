namespace Emu.Machine.Devices;

/// <summary>
/// The CPU's local APIC as the CPU sees it: its interrupt controller (fixed interrupts and, through LINT0, the
/// 8259's), and the device behind IA32_APIC_BASE. The MSR is the CPU's register; the APIC follows it.
/// </summary>
public interface ILocalApic : IInterruptController
{
    /// <summary>IA32_APIC_BASE changed (WRMSR, reset, loaded state): move, enable or disable the register window.</summary>
    void ApicBaseChanged(ulong apicBase);
}
