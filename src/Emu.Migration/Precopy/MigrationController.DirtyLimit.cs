using Emu.Machine.DirtyRate;
using Emu.Migration.DirtyRate;

namespace Emu.Migration.Precopy;

/// <summary>
/// The dirty-rate commands of <see cref="MigrationController"/> (qapi/migration.json): set-, cancel- and
/// query-vcpu-dirty-limit over the machine's <see cref="DirtyLimitState"/>, and calc-/query-dirty-rate through
/// <see cref="DirtyRateCalculation"/>.
/// </summary>
public sealed partial class MigrationController
{
    private DirtyRateCalculation? _dirtyRate;

    /// <summary>calc-dirty-rate / query-dirty-rate.</summary>
    public DirtyRateCalculation DirtyRate => _dirtyRate ??= new DirtyRateCalculation(_machine);

    /// <summary>
    /// QEMU qmp_set_vcpu_dirty_limit: one vCPU (or every one when <paramref name="cpuIndex"/> is null) held to
    /// <paramref name="dirtyRateMbPerSec"/> MiB/s per second; 0 cancels. Refused for a cpu index the machine lacks
    /// and while a dirty-limit migration holds the limit (QEMU dirtylimit_is_allowed).
    /// </summary>
    public void SetVcpuDirtyLimit(long? cpuIndex, ulong dirtyRateMbPerSec)
    {
        DirtyLimitState limits = CheckDirtyLimitChange(cpuIndex, "set");
        limits.Set(cpuIndex is long i ? (int)i : null, dirtyRateMbPerSec);
    }

    /// <summary>QEMU qmp_cancel_vcpu_dirty_limit.</summary>
    public void CancelVcpuDirtyLimit(long? cpuIndex)
    {
        DirtyLimitState limits = CheckDirtyLimitChange(cpuIndex, "cancel");
        limits.Cancel(cpuIndex is long i ? (int)i : null);
    }

    /// <summary>QEMU qmp_query_vcpu_dirty_limit.</summary>
    public IReadOnlyList<(int CpuIndex, long LimitMbPerSec, long CurrentMbPerSec)> QueryVcpuDirtyLimit() => _machine.DirtyLimit.Query();

    private DirtyLimitState CheckDirtyLimitChange(long? cpuIndex, string verb)
    {
        DirtyLimitState limits = _machine.DirtyLimit;
        if (cpuIndex is long i && !limits.IsValidCpuIndex(i))
        {
            throw new MigrationException("incorrect cpu index specified");
        }

        if (Status.IsRunning() && Options.Has(MigrationCapability.DirtyLimit) && limits.InService)
        {
            throw new MigrationException($"can't {verb} dirty page rate limit while migration is running");
        }

        return limits;
    }
}
