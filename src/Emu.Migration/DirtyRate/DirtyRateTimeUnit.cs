namespace Emu.Migration.DirtyRate;

/// <summary>QEMU TimeUnit (calc-dirty-rate's and query-dirty-rate's calc-time-unit, QEMU 8.2).</summary>
public enum DirtyRateTimeUnit
{
    Second,
    Millisecond,
}
