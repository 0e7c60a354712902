namespace Emu.Benchmarks.Macro;

/// <summary>
/// What one migration run measured, read from the source's final <c>query-migrate</c> (QEMU's meanings:
/// total-time from <c>migrate</c> to completion, downtime from source stop to completion as the source sees
/// it, setup-time, ram.transferred, ram.dirty-sync-count) plus Emu's true guest pause from the destination's
/// log. Postcopy runs add the time from <c>migrate-start-postcopy</c> to completion as the harness saw it, the
/// destination's <c>postcopy-blocktime</c> (query-migrate) and, for Emu, its log's <see cref="PostcopySummary"/>.
/// <see cref="Result"/> says how the run ended in words: "completed", "did not converge in 20 s", or why
/// it could not be measured; the figures are those at the end (at cancellation for a run that did not converge).
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
    PostcopySummary? Postcopy = null)
{
    public static MigrationOutcome Failed(EmulatorKind emulator, string why) => new(emulator, false, why);
}
