using Emu.Machine.Board;
using Emu.Machine.Memory;
using Emu.Migration.Multifd;
using Emu.Migration.Precopy;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;
using Serilog;

namespace Emu.Migration.Postcopy;

/// <summary>
/// The destination's half of the JIT warm-up (the source's is <see cref="SetupWarmup"/>): the code between the
/// discard list and RUN runs once per migration, inside the guest's pause, and cold it was most of the 10–20 ms the
/// destination took from LISTEN to RUN (installing the received bitmaps, starting the fault and listen threads,
/// loading the package, starting the machine). Compiled on a background thread when the incoming migration starts,
/// long before a source switches. The multifd channels' code (<see cref="MultifdWarmup"/>) is warmed on the same thread.
/// </summary>
internal static class PostcopySwitchWarmup
{
    private static readonly Type[] SwitchPath =
    [
        typeof(PostcopyIncoming), typeof(PostcopyFaultThread), typeof(PostcopyBlocktime), typeof(FaultLatencyHistogram),
        typeof(DestinationReturnPath), typeof(ReturnPathMessage), typeof(ReceivedBitmap), typeof(IncomingMigration),
        typeof(VmStateLoader), typeof(RamLoader), typeof(MigrationStream), typeof(SaveVmWriter), typeof(GlobalState),
        typeof(DowntimeStamp), typeof(MigrationStateMachine),
    ];

    /// <summary>Starts the warm-up of the switch path and of <paramref name="machine"/>'s run-state code; it ends by itself.</summary>
    public static void Start(IMigratableMachine machine, ILogger log) => JitWarmup.StartBackground("mig/dst/warmup", () =>
    {
        long start = MonotonicClock.NowNs;
        try
        {
            int prepared = JitWarmup.Prepare([.. SwitchPath, machine.GetType()]) + MultifdWarmup.Warm();

            // A fault thread that never starts, for the generic instantiations its bookkeeping uses (keyed by
            // block and page), which no list of types reaches: the first placement and wake-up go through them.
            var fault = new PostcopyFaultThread(new DestinationReturnPath(), null, log);
            fault.PagePlaced(machine.RamBlocks[0], 0);
            fault.WakeWaiters();
            log.Debug("postcopy: switch path warmed ({Methods} methods) in {Ms:F1} ms", prepared, (MonotonicClock.NowNs - start) / 1e6);
        }
        catch (Exception e) when (e is ArgumentException or MemberAccessException or NotSupportedException)
        {
            // A method that cannot be prepared costs only its first call's JIT later, never the migration.
            log.Debug(e, "postcopy: switch path warm-up stopped early");
        }
    });
}
