namespace Emu.Benchmarks.Macro;

/// <summary>
/// One migration scenario, run the same way under Emu and under QEMU: the guest, the two parameters that decide
/// convergence (set explicitly on both, so neither emulator's defaults matter), how long to wait for
/// <c>completed</c> before cancelling, and whether to switch to postcopy after the first pass.
/// </summary>
internal sealed record MigrationCase(
    string Label,
    GuestSpec Guest,
    long MaxBandwidthBytesPerSec,
    long DowntimeLimitMs,
    TimeSpan Timeout,
    bool Postcopy = false)
{
    /// <summary>"Unlimited": 100 GiB/s, far above what loopback carries, as QEMU's migration-test sets it.</summary>
    public const long UnlimitedBandwidthBytesPerSec = 100L << 30;

    /// <summary>QEMU's default <c>max-bandwidth</c> (MAX_THROTTLE, 128 MiB/s).</summary>
    public const long QemuDefaultBandwidthBytesPerSec = 128L << 20;

    /// <summary>QEMU's default <c>downtime-limit</c> (DEFAULT_MIGRATE_SET_DOWNTIME).</summary>
    public const long QemuDefaultDowntimeLimitMs = 300;

    public string BandwidthLabel => MaxBandwidthBytesPerSec >= UnlimitedBandwidthBytesPerSec
        ? "unlimited"
        : $"{MaxBandwidthBytesPerSec >> 20} MiB/s";
}
