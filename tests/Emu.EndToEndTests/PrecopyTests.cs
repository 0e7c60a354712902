using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// Precopy live migration between two real emu processes on loopback, as QEMU's migration-test precopy cases:
/// the a-b guest moves, the destination continues it, memory keeps the a-b invariant, and query-migrate, the
/// MIGRATION events and the run states say what QEMU's say (MIGRATION-SPEC §16 items 5, 7, 24–27, 29, 30, 43).
/// </summary>
public sealed class PrecopyTests
{
    private static readonly TimeSpan Timeout = MigrationPair.Timeout;

    /// <summary>A bandwidth at which the full-region a-b guest cannot converge (it re-dirties far more per lap).</summary>
    private static readonly ulong SlowBandwidth = 32UL << 20;

    [Theory]
    [InlineData(MigrationTransport.Tcp)]
    [InlineData(MigrationTransport.Unix)]
    public void AbAt256MiBCompletesAndTheDestinationContinuesTheGuest(MigrationTransport transport)
    {
        using var pair = MigrationPair.Start($"precopy-{transport.ToString().ToLowerInvariant()}", transport, ramMiB: 256);
        Assert.Empty(pair.QuerySource()); // QEMU: {} before any migration
        pair.SetUnlimitedBandwidth();
        JsonObject info = pair.MigrateToCompletion();
        AssertCompletedInfo(info, pair.RamBytes);

        // Source: MIGRATION setup → active → completed (no device state without pause-before-switchover, as
        // QEMU's migration_maybe_pause), stopped in postmigrate, printing nothing more.
        Assert.Equal(["setup", "active", "completed"], MigrationPair.MigrationEvents(pair.SourceQmp, "completed"));
        pair.SourceQmp.WaitForEvent("STOP");
        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));
        Assert.False(pair.SourceQmp.Execute("query-status")["running"]!.GetValue<bool>());
        int sourcePasses = MigrationPair.Passes(pair.Source);
        byte sourceV = AbInvariant.CheckOverQmp(pair.SourceQmp, pair.Source.Directory, pair.RamBytes);

        // Destination: completed, running, and continuing the source's guest (it never printed its own "A").
        AssertDestinationCompleted(pair.DestinationQmp);
        Assert.Equal("running", MigrationPair.RunStatus(pair.DestinationQmp));
        pair.Destination.WaitForSerial("B", 3, Timeout);
        Assert.Equal(sourcePasses, MigrationPair.Passes(pair.Source));
        Assert.DoesNotContain("A", pair.Destination.Serial);

        AssertDestinationContinuedFrom(pair, sourceV);
    }

    /// <summary>
    /// The destination's memory is the source's as of the switch (a-b value <paramref name="sourceV"/>) plus its own
    /// passes: one increment per B (±1 for a pass cut by the stop or a B still in the UART at the switch). Stops it.
    /// </summary>
    internal static void AssertDestinationContinuedFrom(MigrationPair pair, byte sourceV)
    {
        byte destV = StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
        int destPasses = MigrationPair.Passes(pair.Destination);
        int drift = (sbyte)(byte)(destV - sourceV - destPasses);
        Assert.True(Math.Abs(drift) <= 1,
            $"destination v={destV} after {destPasses} passes from source v={sourceV}: off by {drift}\n{pair.Diagnostics()}");
    }

    [Fact]
    public void IncomingDeferWaitsForMigrateIncoming()
    {
        using var pair = MigrationPair.Start("precopy-defer", ramMiB: 64, deferIncoming: true);
        Assert.Equal("inmigrate", MigrationPair.RunStatus(pair.DestinationQmp));
        Assert.Empty(pair.DestinationQmp.Execute("query-migrate").AsObject());

        // Nothing listens yet: a migrate now fails on the source (connection refused), the source keeps running.
        pair.SetUnlimitedBandwidth();
        pair.Migrate();
        JsonObject failed = MigrationPair.WaitForStatus(pair.SourceQmp, ["failed"], Timeout);
        Assert.False(string.IsNullOrEmpty(failed["error-desc"]?.GetValue<string>()), failed.ToJsonString());
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));

        pair.DestinationQmp.Execute("migrate-incoming", new JsonObject { ["uri"] = pair.Uri });
        MigrationPair.WaitForIncomingListening(pair.DestinationQmp);
        var again = Assert.Throws<QmpErrorException>(() => pair.DestinationQmp.Execute("migrate-incoming", new JsonObject { ["uri"] = pair.Uri }));
        Assert.Equal("GenericError", again.ErrorClass);
        Assert.Equal("The incoming migration has already been started", again.Desc);

        pair.MigrateToCompletion();
        AssertDestinationCompleted(pair.DestinationQmp);
        pair.Destination.WaitForSerial("B", 2, Timeout);
        StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    [Fact]
    public void MigrateIncomingWithoutDeferIsRefused()
    {
        using var pair = MigrationPair.Start("precopy-nodefer", ramMiB: 32);
        var e = Assert.Throws<QmpErrorException>(() => pair.DestinationQmp.Execute("migrate-incoming", new JsonObject { ["uri"] = "tcp:127.0.0.1:1" }));
        Assert.Equal("For use with '-incoming defer'", e.Desc);
        var onSource = Assert.Throws<QmpErrorException>(() => pair.SourceQmp.Execute("migrate-incoming", new JsonObject { ["uri"] = "tcp:127.0.0.1:1" }));
        Assert.Equal("For use with '-incoming defer'", onSource.Desc);
    }

    /// <summary>§16 item 30: a paused source makes a paused destination (the globalstate section carries it).</summary>
    [Fact]
    public void StoppedSourceLeavesTheDestinationPaused()
    {
        using var pair = MigrationPair.Start("precopy-stopped", ramMiB: 64);
        pair.SourceQmp.Execute("stop");
        pair.SourceQmp.WaitForEvent("STOP");
        int passes = MigrationPair.Passes(pair.Source);
        byte sourceV = AbInvariant.CheckOverQmp(pair.SourceQmp, pair.Source.Directory, pair.RamBytes);
        pair.SetUnlimitedBandwidth();
        pair.MigrateToCompletion();

        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));
        Assert.Equal("paused", MigrationPair.RunStatus(pair.DestinationQmp));
        Assert.Equal(passes, MigrationPair.Passes(pair.Source));
        Thread.Sleep(300);
        Assert.Equal("", pair.Destination.Serial);

        // Its memory is the stopped source's, exactly.
        Assert.Equal(sourceV, AbInvariant.CheckOverQmp(pair.DestinationQmp, pair.Destination.Directory, pair.RamBytes));
        pair.DestinationQmp.Execute("cont");
        pair.Destination.WaitForSerial("B", 2, Timeout);
        StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    /// <summary>
    /// §16 items 27 and 29 and the issue's "never completes" case: the full-region a-b guest at 32 MiB/s without
    /// auto-converge keeps iterating (dirty-sync-count rising), refuses a second migrate and capability changes
    /// while active, and migrate_cancel leaves the source running with its memory intact; a second migrate at
    /// unlimited bandwidth then completes.
    /// </summary>
    [Fact]
    public void AbAt32MiBPerSecondDoesNotConvergeAndCancelKeepsTheSourceRunning()
    {
        using var pair = MigrationPair.Start("precopy-cancel", ramMiB: 64);
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = SlowBandwidth });
        pair.Migrate();
        JsonObject active = pair.WaitForSourceStatus("active");
        Assert.True(active["expected-downtime"] != null, active.ToJsonString());

        // Three more bitmap syncs (laps of the guest RAM) and still not done.
        long syncs = WaitForDirtySyncs(pair, 3);
        JsonObject later = pair.QuerySource();
        Assert.Equal("active", MigrationPair.Status(later));
        Assert.True(syncs >= 3, later.ToJsonString());
        Assert.True(Ram(later, "remaining") > 0, later.ToJsonString());
        Assert.True(Ram(later, "dirty-pages-rate") > 0, later.ToJsonString());
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));

        var busy = Assert.Throws<QmpErrorException>(pair.Migrate);
        Assert.Equal("There's a migration process in progress", busy.Desc);
        var caps = Assert.Throws<QmpErrorException>(() => pair.SetCapability("auto-converge"));
        Assert.Equal("There's a migration process in progress", caps.Desc);

        int passes = MigrationPair.Passes(pair.Source);
        pair.SourceQmp.Execute("migrate_cancel");
        Assert.Equal("cancelled", MigrationPair.Status(MigrationPair.WaitForStatus(pair.SourceQmp, ["cancelled"], Timeout)));
        Assert.Equal(["setup", "active", "cancelling", "cancelled"], MigrationPair.MigrationEvents(pair.SourceQmp, "cancelled"));
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));
        pair.Source.WaitForSerial("B", passes + 3, Timeout);
        StopAndCheck(pair.Source, pair.SourceQmp, pair.RamBytes);
        pair.SourceQmp.Execute("cont");

        // The destination refused nothing yet it got a broken stream: it fails and exits without running.
        Assert.NotEqual(0, pair.Destination.WaitForExit(Timeout));
        Assert.Equal("", pair.Destination.Serial);

        pair.StartDestination();
        pair.SetUnlimitedBandwidth();
        pair.MigrateToCompletion();
        pair.Destination.WaitForSerial("B", 2, Timeout);
        StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    /// <summary>
    /// pause-before-switchover: the source stops in pre-switchover (run state finish-migrate) until
    /// migrate-continue, then passes device and completes (QEMU migration_maybe_pause).
    /// </summary>
    [Fact]
    public void PauseBeforeSwitchoverWaitsForMigrateContinue()
    {
        using var pair = MigrationPair.Start("precopy-preswitch", ramMiB: 64);
        pair.SetCapability("pause-before-switchover");
        var notYet = Assert.Throws<QmpErrorException>(() => pair.SourceQmp.Execute("migrate-continue", new JsonObject { ["state"] = "pre-switchover" }));
        Assert.Equal("Migration not in expected state: none", notYet.Desc);

        pair.SetUnlimitedBandwidth();
        pair.Migrate();
        pair.WaitForSourceStatus("pre-switchover");
        Assert.Equal("finish-migrate", MigrationPair.RunStatus(pair.SourceQmp));
        int passes = MigrationPair.Passes(pair.Source);
        Thread.Sleep(300);
        Assert.Equal("pre-switchover", MigrationPair.Status(pair.QuerySource()));
        Assert.Equal(passes, MigrationPair.Passes(pair.Source));

        var wrong = Assert.Throws<QmpErrorException>(() => pair.SourceQmp.Execute("migrate-continue", new JsonObject { ["state"] = "active" }));
        Assert.Equal("Migration not in expected state: pre-switchover", wrong.Desc);
        pair.SourceQmp.Execute("migrate-continue", new JsonObject { ["state"] = "pre-switchover" });
        pair.WaitForSourceStatus("completed");
        MigrationPair.WaitForStatus(pair.DestinationQmp, ["completed"], Timeout);
        Assert.Equal(["setup", "active", "pre-switchover", "device", "completed"], MigrationPair.MigrationEvents(pair.SourceQmp, "completed"));
        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));
        pair.Destination.WaitForSerial("B", 2, Timeout);
        StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    /// <summary>Cancel in pre-switchover: the source was stopped by the migration and runs again.</summary>
    [Fact]
    public void CancelInPreSwitchoverRestartsTheSource()
    {
        using var pair = MigrationPair.Start("precopy-precancel", ramMiB: 32);
        pair.SetCapability("pause-before-switchover");
        pair.SetUnlimitedBandwidth();
        pair.Migrate();
        pair.WaitForSourceStatus("pre-switchover");
        int passes = MigrationPair.Passes(pair.Source);
        pair.SourceQmp.Execute("migrate_cancel");
        MigrationPair.WaitForStatus(pair.SourceQmp, ["cancelled"], Timeout);
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));
        pair.Source.WaitForSerial("B", passes + 2, Timeout);
        StopAndCheck(pair.Source, pair.SourceQmp, pair.RamBytes);
    }

    /// <summary>
    /// migrate-set-parameters and migrate-set-capabilities refusals with QEMU's wording; a refused request changes
    /// nothing (migrate_params_check runs on a copy).
    /// </summary>
    [Fact]
    public void ParameterAndCapabilityValidationUsesQemuWording()
    {
        using var emu = EmuProcess.StartGuest("ab", "precopy-params", "-m", "32M");
        using QmpClient qmp = emu.ConnectQmp();
        JsonObject defaults = qmp.Execute("query-migrate-parameters").AsObject();
        Assert.Equal(300, defaults["downtime-limit"]!.GetValue<long>());
        Assert.Equal(20, defaults["cpu-throttle-initial"]!.GetValue<long>());
        Assert.Equal(10, defaults["cpu-throttle-increment"]!.GetValue<long>());
        Assert.Equal(99, defaults["max-cpu-throttle"]!.GetValue<long>());
        Assert.Equal(50, defaults["throttle-trigger-threshold"]!.GetValue<long>());
        Assert.Equal(128L << 20, defaults["max-bandwidth"]!.GetValue<long>());

        (JsonObject Args, string Desc)[] refused =
        [
            (new JsonObject { ["downtime-limit"] = 2_000_001 }, "Parameter 'downtime_limit' expects an integer in the range of 0 to 2000 seconds"),
            (new JsonObject { ["cpu-throttle-initial"] = 0 }, "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99"),
            (new JsonObject { ["cpu-throttle-increment"] = 100 }, "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99"),
            (new JsonObject { ["throttle-trigger-threshold"] = 101 }, "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100"),
            (new JsonObject { ["cpu-throttle-initial"] = 60, ["max-cpu-throttle"] = 50 }, "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99"),
            (new JsonObject { ["cpu-throttle-initial"] = 300 }, "Parameter 'cpu-throttle-initial' expects uint8_t"),
            (new JsonObject { ["downtime-limit"] = "fast" }, "Invalid parameter type for 'downtime-limit', expected: integer"),
            (new JsonObject { ["no-such-parameter"] = 1 }, "Parameter 'no-such-parameter' is unexpected"),
        ];
        foreach ((JsonObject args, string desc) in refused)
        {
            var e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-set-parameters", args));
            Assert.Equal("GenericError", e.ErrorClass);
            Assert.Equal(desc, e.Desc);
        }

        Assert.Equal(defaults.ToJsonString(), qmp.Execute("query-migrate-parameters").ToJsonString());

        qmp.Execute("migrate-set-parameters", new JsonObject { ["downtime-limit"] = 2_000_000, ["cpu-throttle-initial"] = 30 });
        JsonObject set = qmp.Execute("query-migrate-parameters").AsObject();
        Assert.Equal(2_000_000, set["downtime-limit"]!.GetValue<long>());
        Assert.Equal(30, set["cpu-throttle-initial"]!.GetValue<long>());

        var unknown = Assert.Throws<QmpErrorException>(() => MigrationPair.SetCapability(qmp, "frobnicate"));
        Assert.Equal("GenericError", unknown.ErrorClass);
        Assert.Equal("Parameter 'capability' does not accept value 'frobnicate'", unknown.Desc);

        // All or nothing: a list with one bad entry changes no capability.
        var mixed = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(
                new JsonObject { ["capability"] = "auto-converge", ["state"] = true },
                new JsonObject { ["capability"] = "frobnicate", ["state"] = true }),
        }));
        Assert.Equal("Parameter 'capability' does not accept value 'frobnicate'", mixed.Desc);
        Assert.False(CapabilityState(qmp, "auto-converge"));
        MigrationPair.SetCapability(qmp, "auto-converge");
        Assert.True(CapabilityState(qmp, "auto-converge"));
    }

    /// <summary>§16 item 29: an unknown URI scheme fails in setup (SETUP → FAILED) and the guest keeps running.</summary>
    [Fact]
    public void UnknownUriSchemeFailsInSetup()
    {
        using var emu = EmuProcess.StartGuest("ab", "precopy-baduri", "-m", "32M");
        using QmpClient qmp = emu.ConnectQmp();
        var e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate", new JsonObject { ["uri"] = "carrier-pigeon:home" }));
        Assert.Equal("GenericError", e.ErrorClass);
        Assert.Equal("Parameter 'uri' expects a valid migration protocol", e.Desc);
        Assert.Equal("failed", MigrationPair.Status(qmp.Execute("query-migrate").AsObject()));
        Assert.Equal(["setup", "failed"], MigrationPair.MigrationEvents(qmp, "failed"));
        Assert.Equal("running", MigrationPair.RunStatus(qmp));
        Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate", new JsonObject()));
    }

    /// <summary>
    /// The completed field set of query-migrate (QEMU populate_ram_info / fill_source_migration_info): times and
    /// RAM counters present and consistent with each other (§16 items 5, 24, 25).
    /// </summary>
    internal static void AssertCompletedInfo(JsonObject info, ulong ramBytes)
    {
        string json = info.ToJsonString();
        Assert.Equal("completed", MigrationPair.Status(info));
        long total = info["total-time"]!.GetValue<long>(), downtime = info["downtime"]!.GetValue<long>(), setup = info["setup-time"]!.GetValue<long>();
        Assert.True(total > 0 && downtime >= 0 && setup >= 0 && downtime <= total && setup <= total, json);
        Assert.Null(info["expected-downtime"]);
        Assert.Null(info["cpu-throttle-percentage"]);
        Assert.Equal(0, Ram(info, "remaining"));
        long ramTotal = Ram(info, "total"), normal = Ram(info, "normal"), duplicate = Ram(info, "duplicate");
        Assert.True(ramTotal >= (long)ramBytes && ramTotal % 4096 == 0, json);
        Assert.Equal(normal * 4096, Ram(info, "normal-bytes"));
        Assert.Equal(4096, Ram(info, "page-size"));
        Assert.True(normal > 0 && duplicate > 0, json);
        Assert.True(normal + duplicate >= ramTotal / 4096, $"every page is sent at least once: {json}");
        long transferred = Ram(info, "transferred");
        Assert.True(transferred >= normal * 4096 + duplicate, json);
        Assert.True(Ram(info, "precopy-bytes") + Ram(info, "downtime-bytes") <= transferred, json);
        Assert.True(Ram(info, "dirty-sync-count") >= 2, json);
        Assert.True(info["ram"]!["mbps"]!.GetValue<double>() > 0, json);
        Assert.True(Ram(info, "pages-per-second") >= 0, json);
    }

    internal static void AssertDestinationCompleted(QmpClient destination)
    {
        Assert.Equal("completed", MigrationPair.Status(destination.Execute("query-migrate").AsObject()));
        List<string> events = MigrationPair.MigrationEvents(destination, "completed");
        int active = events.IndexOf("active");
        Assert.True(active >= 0 && events.IndexOf("completed") > active, $"destination MIGRATION events: {string.Join(", ", events)}");
    }

    internal static long Ram(JsonObject info, string field) =>
        info["ram"]?[field]?.GetValue<long>() ?? throw new Xunit.Sdk.XunitException($"query-migrate has no ram.{field}: {info.ToJsonString()}");

    /// <summary>Polls query-migrate until dirty-sync-count has grown by <paramref name="more"/>; returns it.</summary>
    internal static long WaitForDirtySyncs(MigrationPair pair, long more)
    {
        long first = Ram(pair.WaitForSourceStatus("active"), "dirty-sync-count");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            JsonObject info = pair.WaitForSourceStatus("active");
            long now = Ram(info, "dirty-sync-count");
            if (now >= first + more)
            {
                return now;
            }

            Assert.True(clock.Elapsed < Timeout, $"dirty-sync-count stuck at {now}: {info.ToJsonString()}");
            Thread.Sleep(100);
        }
    }

    internal static byte StopAndCheck(EmuProcess emu, QmpClient qmp, ulong ramBytes, ulong? regionBytes = null) =>
        MigrationPair.StopAndCheckInvariant(emu, qmp, ramBytes, regionBytes);

    private static bool CapabilityState(QmpClient qmp, string name)
    {
        foreach (JsonNode? c in qmp.Execute("query-migrate-capabilities").AsArray())
        {
            if (c?["capability"]?.GetValue<string>() == name)
            {
                return c["state"]!.GetValue<bool>();
            }
        }

        throw new Xunit.Sdk.XunitException($"query-migrate-capabilities lists no '{name}'");
    }
}
