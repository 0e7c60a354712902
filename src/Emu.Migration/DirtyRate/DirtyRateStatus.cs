namespace Emu.Migration.DirtyRate;

/// <summary>
/// QEMU DirtyRateStatus: unstarted → measuring (calc-dirty-rate) → measured; a new calc-dirty-rate goes back to
/// measuring from either unstarted or measured, never while measuring.
/// </summary>
public enum DirtyRateStatus
{
    Unstarted,
    Measuring,
    Measured,
}
