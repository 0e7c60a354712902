namespace Emu.Migration.Report;

/// <summary>
/// One pass of an outgoing migration, taken at its dirty-bitmap sync (QEMU's MIGRATION_PASS): the time since the
/// migration started, pages sent so far by kind, the pages this sync found newly dirty, what is left to send, the
/// throttle, the bandwidth and the downtime expected if the migration stopped now.
/// </summary>
public readonly record struct MigrationPass(
    long Pass,
    double TimeMs,
    long NormalPages,
    long ZeroPages,
    long XbzrlePages,
    long DirtiedPages,
    long RemainingBytes,
    long TransferredBytes,
    int ThrottlePercent,
    double Mbps,
    long ExpectedDowntimeMs);
