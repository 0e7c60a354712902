namespace Emu.Migration;

/// <summary>
/// Migration parameters (QEMU MigrationParameters, options.c) with QEMU's defaults. Immutable: a
/// migrate-set-parameters merges into a copy, <see cref="Validate"/> checks the copy (migrate_params_check), and
/// only then does it replace the current value.
/// </summary>
public sealed record MigrationParameters
{
    /// <summary>QEMU MAX_MIGRATE_DOWNTIME_SECONDS.</summary>
    public const ulong MaxDowntimeSeconds = 2000;

    /// <summary>QEMU MAX_MIGRATE_DOWNTIME, in ms.</summary>
    public const ulong MaxDowntimeMs = MaxDowntimeSeconds * 1000;

    /// <summary>Rate limit of the migration stream; 0 means unlimited. QEMU default 128 MiB/s.</summary>
    public ulong MaxBandwidthBytesPerSec { get; init; } = 128UL << 20;

    /// <summary>If non-zero, used instead of the measured bandwidth for the switchover decision.</summary>
    public ulong AvailSwitchoverBandwidthBytesPerSec { get; init; }

    /// <summary>The pause the switchover may cost (threshold = bandwidth × this).</summary>
    public ulong DowntimeLimitMs { get; init; } = 300;

    /// <summary>Rate limit after the postcopy switch; 0 means unlimited.</summary>
    public ulong MaxPostcopyBandwidthBytesPerSec { get; init; }

    /// <summary>Auto-converge fires when dirtied bytes exceed this percentage of the bytes sent in a period.</summary>
    public ulong ThrottleTriggerThresholdPercent { get; init; } = 50;

    public ulong CpuThrottleInitialPercent { get; init; } = 20;

    public ulong CpuThrottleIncrementPercent { get; init; } = 10;

    /// <summary>Raise the throttle by less than the increment when that is enough to reach the threshold.</summary>
    public bool CpuThrottleTailslow { get; init; }

    public ulong MaxCpuThrottlePercent { get; init; } = 99;

    /// <summary>XBZRLE page cache size (QEMU default 64 MiB); a power of two, at least one page.</summary>
    public ulong XbzrleCacheSizeBytes { get; init; } = DefaultXbzrleCacheSizeBytes;

    /// <summary>QEMU DEFAULT_MIGRATE_XBZRLE_CACHE_SIZE.</summary>
    public const ulong DefaultXbzrleCacheSizeBytes = 64UL << 20;

    /// <summary>
    /// The dirty-page rate, MiB/s, each vCPU is held to once the dirty-limit capability engages (QEMU
    /// vcpu-dirty-limit, default 1).
    /// </summary>
    public ulong VcpuDirtyLimitMbPerSec { get; init; } = 1;

    /// <summary>The period over which a vCPU's dirty-limit quota is counted, ms (QEMU x-vcpu-dirty-limit-period).</summary>
    public ulong VcpuDirtyLimitPeriodMs { get; init; } = 1000;

    /// <summary>
    /// Emu's x-postcopy-recover-timeout, on the destination: how long a postcopy-paused destination waits for a
    /// recovery before it fails (its guest cannot go on without the missing pages). 0, the default, waits forever
    /// as QEMU does.
    /// </summary>
    public ulong PostcopyRecoverTimeoutMs { get; init; }

    /// <summary>The largest x-postcopy-recover-timeout: one day.</summary>
    public const ulong MaxPostcopyRecoverTimeoutSeconds = 24 * 60 * 60;

    /// <summary>Connections carrying multifd page batches (QEMU multifd-channels, default 2, 1..255).</summary>
    public ulong MultifdChannels { get; init; } = 2;

    /// <summary>How multifd channels compress their pages (QEMU multifd-compression, default none).</summary>
    public Multifd.MultifdCompression MultifdCompression { get; init; }

    /// <summary>zlib's level for multifd-compression zlib (QEMU multifd-zlib-level, default 1, 0..9).</summary>
    public ulong MultifdZlibLevel { get; init; } = 1;

    /// <summary>zstd's level for multifd-compression zstd (QEMU multifd-zstd-level, default 1, 0..20).</summary>
    public ulong MultifdZstdLevel { get; init; } = 1;

    /// <summary>QEMU migrate_params_check for the parameters Emu has; null when valid. Texts are QEMU's.</summary>
    public string? Validate()
    {
        if (ThrottleTriggerThresholdPercent is < 1 or > 100)
        {
            return InvalidValue("throttle_trigger_threshold", "an integer in the range of 1 to 100");
        }

        if (CpuThrottleInitialPercent is < 1 or > 99)
        {
            return InvalidValue("cpu_throttle_initial", "an integer in the range of 1 to 99");
        }

        if (CpuThrottleIncrementPercent is < 1 or > 99)
        {
            return InvalidValue("cpu_throttle_increment", "an integer in the range of 1 to 99");
        }

        if (DowntimeLimitMs > MaxDowntimeMs)
        {
            return InvalidValue("downtime_limit", $"an integer in the range of 0 to {MaxDowntimeSeconds} seconds");
        }

        if (XbzrleCacheSizeBytes < (ulong)Emu.Machine.Memory.RamBlock.PageSize || !ulong.IsPow2(XbzrleCacheSizeBytes))
        {
            return InvalidValue("xbzrle_cache_size", "a power of two no less than the target page size");
        }

        if (MaxCpuThrottlePercent < CpuThrottleInitialPercent || MaxCpuThrottlePercent > 99)
        {
            return InvalidValue("max_cpu_throttle", "an integer in the range of cpu_throttle_initial to 99");
        }

        if (VcpuDirtyLimitPeriodMs is < 1 or > 1000)
        {
            return InvalidValue("x-vcpu-dirty-limit-period", "a value between 1 and 1000");
        }

        if (VcpuDirtyLimitMbPerSec < 1)
        {
            // QEMU 9.0's corrected text (8.1 ran it through QERR_INVALID_PARAMETER_VALUE: "… expects is invalid …").
            return "Parameter 'vcpu_dirty_limit' is invalid, it must greater than 1 MB/s";
        }

        string? multifd = Multifd.MultifdParameterRules.Validate(this);
        if (multifd != null)
        {
            return multifd;
        }

        if (PostcopyRecoverTimeoutMs > MaxPostcopyRecoverTimeoutSeconds * 1000)
        {
            return InvalidValue("x_postcopy_recover_timeout", $"an integer in the range of 0 to {MaxPostcopyRecoverTimeoutSeconds} seconds");
        }

        return null;
    }

    /// <summary>QEMU QERR_INVALID_PARAMETER_VALUE.</summary>
    internal static string InvalidValue(string name, string expected) => $"Parameter '{name}' expects {expected}";
}
