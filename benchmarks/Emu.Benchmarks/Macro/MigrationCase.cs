namespace Emu.Benchmarks.Macro;

/// <summary>
/// One migration scenario, run the same way under Emu and under QEMU: the guest, the two parameters that decide
/// convergence (set explicitly on both, so neither emulator's defaults matter), how long to wait for
/// <c>completed</c> before cancelling, and whether to switch to postcopy after the first pass (with
/// <c>postcopy-preempt</c> on both sides if <see cref="Preempt"/>).
/// <see cref="RaiseDowntimeLimit"/> is QEMU migration-test's way to make a guest that can never fit the limit
/// complete anyway: once the source has made that many bitmap syncs, <c>downtime-limit</c> is raised to the given
/// value, so the run measures how fast each emulator moves the whole dirty set with the guest stopped.
/// <see cref="Converge"/> names the capability each emulator converges with when one is wanted (Emu's dirty-limit
/// against QEMU's best under TCG, auto-converge, which is all QEMU 7.2 allows there: its dirty-limit needs KVM).
/// <see cref="Multifd"/> turns on the multifd capability with that many channels and that multifd-compression on
/// both sides (the destination then starts with <c>-incoming defer</c>, as QEMU wants multifd set before it
/// listens), and the source reaches the destination through a counting proxy, so both emulators' bytes on the wire
/// are measured the same way (QEMU 7.2's multifd-bytes counts pages uncompressed).
/// </summary>
internal sealed record MigrationCase(
    string Label,
    GuestSpec Guest,
    long MaxBandwidthBytesPerSec,
    long DowntimeLimitMs,
    TimeSpan Timeout,
    bool Postcopy = false,
    bool Preempt = false,
    (int AfterPasses, long ToMs)? RaiseDowntimeLimit = null,
    (string Emu, string Qemu)? Converge = null,
    (int Channels, string Compression)? Multifd = null)
{
    /// <summary>"Unlimited": 100 GiB/s, far above what loopback carries, as QEMU's migration-test sets it.</summary>
    public const long UnlimitedBandwidthBytesPerSec = 100L << 30;

    /// <summary>QEMU's default <c>max-bandwidth</c> (MAX_THROTTLE, 128 MiB/s).</summary>
    public const long QemuDefaultBandwidthBytesPerSec = 128L << 20;

    /// <summary>QEMU's default <c>downtime-limit</c> (DEFAULT_MIGRATE_SET_DOWNTIME).</summary>
    public const long QemuDefaultDowntimeLimitMs = 300;

    /// <summary>The limit the run ends with: raised, or the one it started with.</summary>
    public string DowntimeLimitLabel => RaiseDowntimeLimit is { } raise
        ? $"{DowntimeLimitMs} ms, {raise.ToMs} ms after {raise.AfterPasses} passes"
        : $"{DowntimeLimitMs} ms";

    public string BandwidthLabel => MaxBandwidthBytesPerSec >= UnlimitedBandwidthBytesPerSec
        ? "unlimited"
        : $"{MaxBandwidthBytesPerSec >> 20} MiB/s";
}
