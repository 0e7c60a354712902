namespace Emu.Benchmarks.Macro;

/// <summary>
/// What one migration run measured, read from the source's final <c>query-migrate</c> (QEMU's meanings:
/// total-time from <c>migrate</c> to completion, downtime from source stop to completion as the source sees
/// it, setup-time, ram.transferred, ram.dirty-sync-count) plus Emu's true guest pause from the destination's
/// log. Postcopy runs add the time from <c>migrate-start-postcopy</c> to completion as the harness saw it, the
/// destination's <c>postcopy-blocktime</c> and the sum of its <c>postcopy-vcpu-blocktime</c> (query-migrate) and, for
/// Emu, its log's <see cref="PostcopySummary"/>. With one vCPU the two blocktimes are the same quantity by QEMU's
/// definition, but QEMU 7.2's <c>postcopy-blocktime</c> can stop growing partway through a run with thousands of faults
/// while its per-vCPU figure goes on (35 against 205 ms in a 1 GiB run with its trace events on): the per-vCPU sum is the figure compared.
/// <see cref="Result"/> says how the run ended in words: "completed", "did not converge in 20 s", or why
/// it could not be measured; the figures are those at the end (at cancellation for a run that did not converge).
/// <see cref="GuestPassesDuring"/> is how many passes the ab guest finished on the source between <c>migrate</c> and
/// completion; <see cref="TotalTimeRangeMs"/> spans the total times of repeated runs.
/// <see cref="GuestPassesAfterSwitch"/> is how many passes the ab guest made on the destination in the
/// <see cref="MigrationRun.GuestWorkWindow"/> after <c>migrate-start-postcopy</c>.
/// <see cref="EventPauseMs"/> is the source's STOP event to the destination's RESUME event (QMP timestamps), for
/// both emulators. <see cref="WireBytes"/> is what the source sent through the harness's counting proxy (multifd cases only).
/// </summary>
internal sealed record MigrationOutcome(
    EmulatorKind Emulator,
    bool Completed,
    string Result,
    long? TotalTimeMs = null,
    long? DowntimeMs = null,
    long? SetupTimeMs = null,
    long? TransferredBytes = null,
    long? Passes = null,
    double? TruePauseMs = null,
    long? SwitchToDoneMs = null,
    long? BlocktimeMs = null,
    PostcopySummary? Postcopy = null,
    int? GuestPassesDuring = null,
    (long Min, long Max)? TotalTimeRangeMs = null,
    long? WireBytes = null,
    double? EventPauseMs = null,
    long? VcpuBlocktimeMs = null,
    int? GuestPassesAfterSwitch = null)
{
    public static MigrationOutcome Failed(EmulatorKind emulator, string why) => new(emulator, false, why);

    /// <summary>
    /// Repeated runs of one emulator as one outcome: each figure's median over the runs (the postcopy log summary
    /// from the run with the median switch-to-done time). If any run did not complete, that run is the outcome, with
    /// its place in the series, since a median would hide it.
    /// </summary>
    public static MigrationOutcome Median(List<MigrationOutcome> runs)
    {
        if (runs.Count == 1)
        {
            return runs[0];
        }

        int failed = runs.FindIndex(r => !r.Completed);
        if (failed >= 0)
        {
            return runs[failed] with { Result = $"{runs[failed].Result} (run {failed + 1} of {runs.Count})" };
        }

        List<MigrationOutcome> bySwitch = [.. runs.OrderBy(r => r.SwitchToDoneMs ?? r.DowntimeMs ?? 0)];
        long downMin = runs.Min(r => r.DowntimeMs ?? 0), downMax = runs.Max(r => r.DowntimeMs ?? 0);
        long totalMin = runs.Min(r => r.TotalTimeMs ?? 0), totalMax = runs.Max(r => r.TotalTimeMs ?? 0);
        return new MigrationOutcome(runs[0].Emulator, true, $"completed ×{runs.Count}, total {totalMin}–{totalMax} ms, downtime {downMin}–{downMax} ms",
            Mid(runs, r => r.TotalTimeMs), Mid(runs, r => r.DowntimeMs), Mid(runs, r => r.SetupTimeMs),
            Mid(runs, r => r.TransferredBytes), Mid(runs, r => r.Passes), Mid(runs, r => r.TruePauseMs),
            Mid(runs, r => r.SwitchToDoneMs), Mid(runs, r => r.BlocktimeMs), bySwitch[bySwitch.Count / 2].Postcopy,
            Mid(runs, r => r.GuestPassesDuring), (totalMin, totalMax),
            Mid(runs, r => r.WireBytes), Mid(runs, r => r.EventPauseMs), Mid(runs, r => r.VcpuBlocktimeMs),
            Mid(runs, r => r.GuestPassesAfterSwitch));
    }

    /// <summary>The median of the figures present (the mean of the middle two for an even count), or null.</summary>
    private static T? Mid<T>(List<MigrationOutcome> runs, Func<MigrationOutcome, T?> figure)
        where T : struct, System.Numerics.INumber<T>
    {
        List<T> v = [.. runs.Select(figure).Where(x => x.HasValue).Select(x => x!.Value).Order()];
        if (v.Count == 0)
        {
            return null;
        }

        int m = v.Count / 2;
        return v.Count % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / (T.One + T.One);
    }
}
