namespace Emu.Machine.Memory;

/// <summary>
/// The consumers of the dirty log, as QEMU's DIRTY_MEMORY_* clients. Each keeps its own bitmap per
/// <see cref="RamBlock"/>; a guest store sets the page's bit in every enabled client.
/// </summary>
public enum DirtyClient
{
    /// <summary>Pages written since the migration thread last synced (QEMU DIRTY_MEMORY_MIGRATION).</summary>
    Migration = 0,

    /// <summary>Pages the display must redraw (QEMU DIRTY_MEMORY_VGA).</summary>
    Vga = 1,

    /// <summary>
    /// Pages written since code was last translated from them (QEMU DIRTY_MEMORY_CODE). A clear bit means
    /// translated code lives on the page, so the next store must drop it.
    /// </summary>
    Code = 2,

    /// <summary>
    /// Pages written since <see cref="Emu.Machine.DirtyRate.DirtyRateTracker"/> last harvested them: what KVM's dirty ring
    /// gives QEMU's dirty-limit and calc-dirty-rate. The first store to such a page is charged to the writing
    /// vCPU (<see cref="Emu.Machine.DirtyRate.VcpuDirtyQuota"/>). Enabled only while a limit or a measurement needs it.
    /// </summary>
    DirtyRate = 3,
}
