using Emu.Machine.DirtyRate;

namespace Emu.Migration.Ram;

/// <summary>
/// The migration's use of the vCPU dirty-page limit (ram.c migration_dirty_limit_guest): when the guest dirties
/// memory faster than it can be sent, hold every vCPU to vcpu-dirty-limit MiB/s per x-vcpu-dirty-limit-period.
/// The limit is set again only when it is not in service or the parameter changed, and the migration lifts it
/// when it ends, whatever the outcome.
/// </summary>
public sealed class MigrationDirtyLimit(MigrationOptions options, DirtyLimitState limits)
{
    private ulong _appliedMbPerSec;

    /// <summary>Whether this migration engaged the limit.</summary>
    public bool Engaged { get; private set; }

    /// <summary>QEMU migration_dirty_limit_guest.</summary>
    public void LimitGuest()
    {
        MigrationParameters p = options.Parameters;
        if (limits.InService && _appliedMbPerSec == p.VcpuDirtyLimitMbPerSec)
        {
            return;
        }

        _appliedMbPerSec = p.VcpuDirtyLimitMbPerSec;
        limits.Set(cpuIndex: null, p.VcpuDirtyLimitMbPerSec, (long)p.VcpuDirtyLimitPeriodMs);
        Engaged = true;
    }

    /// <summary>
    /// At the migration's end (QEMU migration_cancel's qmp_cancel_vcpu_dirty_limit, here on every outcome): with the
    /// capability on, every vCPU's limit is lifted, so a failed or cancelled migration leaves the guest at full speed.
    /// </summary>
    public void Stop()
    {
        if (options.Has(MigrationCapability.DirtyLimit))
        {
            limits.Cancel(cpuIndex: null);
        }

        _appliedMbPerSec = 0;
    }
}
