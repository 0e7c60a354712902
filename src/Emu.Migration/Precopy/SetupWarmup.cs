using Emu.Machine.Memory;
using Emu.Migration.Multifd;
using Emu.Migration.Postcopy;
using Emu.Migration.Ram;
using Emu.Migration.Report;
using Emu.Migration.Stream;
using Emu.Migration.Transport;
using Emu.Migration.VmState;
using Serilog;

namespace Emu.Migration.Precopy;

/// <summary>
/// Pays .NET's first-call costs of an outgoing migration's setup (the JIT of the connect, the RAM section's setup,
/// the first bitmap sync and the stream) once, on a background thread, long before anybody migrates. Cold, they
/// were most of Emu's setup time (40–60 ms against QEMU's 1–2 ms, whose code is compiled ahead of time); the work
/// itself takes a few milliseconds. <see cref="SwitchoverWarmup"/> does the same for the switchover's device saves.
/// </summary>
internal static class SetupWarmup
{
    // The types whose methods run between `migrate` and the status `active` (MigrationThread.Run's setup).
    private static readonly Type[] SetupPath =
    [
        typeof(MigrationThread), typeof(MigrationConnection), typeof(MigrationUri), typeof(MigrationStream),
        typeof(SaveVmWriter), typeof(RamSaver), typeof(DirtyLog), typeof(HostPageMap), typeof(MigrationPassLog),
        typeof(MigrationStats), typeof(MigrationStateMachine),

        // The postcopy switch (MigrationThread.PostcopyStart) and the return path it waits on.
        typeof(MigCommandWriter), typeof(SourceReturnPath), typeof(ReturnPathMessage), typeof(PreemptChannel),
    ];

    /// <summary>Starts the warm-up on a background thread, then runs <paramref name="then"/> there; it ends by itself.</summary>
    public static void Start(ILogger log, Action then) => JitWarmup.StartBackground("mig/warmup", () =>
    {
        Warm(log);
        try
        {
            then();
        }
        catch (Exception e)
        {
            // Only a warm-up: whatever failed here fails again, where it counts, in a real migration.
            log.Warning(e, "migration: switchover warm-up failed");
        }
    });

    private static void Warm(ILogger log)
    {
        long start = MonotonicClock.NowNs;
        try
        {
            int prepared = JitWarmup.Prepare(SetupPath) + MultifdWarmup.Warm();

            // The framework's side of a tcp URI (address parsing loads System.Net.Primitives' code paths).
            _ = MigrationUri.Parse("tcp:127.0.0.1:4444").TcpConnectEndPoint();
            log.Debug("migration: setup path warmed ({Methods} methods) in {Ms:F1} ms", prepared, (MonotonicClock.NowNs - start) / 1e6);
        }
        catch (Exception e) when (e is ArgumentException or MemberAccessException or NotSupportedException or MigrationException)
        {
            // A method that cannot be prepared costs only its first call's JIT later, never the migration.
            log.Debug(e, "migration: setup warm-up stopped early");
        }
    }
}
