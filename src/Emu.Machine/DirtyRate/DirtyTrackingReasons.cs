namespace Emu.Machine.DirtyRate;

/// <summary>
/// Why per-vCPU dirty tracking (<see cref="Memory.DirtyClient.DirtyRate"/>) is on, as QEMU's global dirty-log
/// flags: it stays on while any reason holds.
/// </summary>
[Flags]
public enum DirtyTrackingReasons
{
    None = 0,

    /// <summary>A vCPU dirty-page limit is in service (QEMU GLOBAL_DIRTY_LIMIT).</summary>
    Limit = 1,

    /// <summary>calc-dirty-rate is measuring (QEMU GLOBAL_DIRTY_DIRTY_RATE).</summary>
    Measure = 2,
}
