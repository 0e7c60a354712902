using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// Postcopy between two real emu processes (MIGRATION-SPEC §16 items 33–41 end to end): the switch after the
/// first pass, the destination running before all RAM is there, the a-b invariant on the destination, preempt,
/// recovery after migrate-pause and after a broken socket, and a destination that loses its source for good.
/// </summary>
public sealed class PostcopyTests
{
    /// <summary>Slow enough that a pause lands mid-postcopy, fast enough to finish quickly after resume.</summary>
    internal const long SlowPostcopyBytesPerSec = 16L << 20;

    private static readonly TimeSpan Timeout = MigrationPair.Timeout;

    /// <summary>Without postcopy-preempt every page after LISTEN arrives on the main channel.</summary>
    [Fact]
    public void CompletesDestinationRunsAndTheSourceIsNotNeededAfterwards()
    {
        using var pair = MigrationPair.StartPostcopy("pc-basic", 256);
        pair.MigrateAndSwitch();
        pair.WaitForSourceStatus("completed");
        pair.WaitForDestinationStatus("completed");

        JsonNode src = pair.SourceQmp.Execute("query-migrate");
        Assert.True(src["ram"]!["postcopy-bytes"]!.GetValue<long>() > 0, "pages must have been sent after the switch");
        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));

        // The source's RAM is never needed after completion: kill it; the destination runs on.
        pair.Source.Kill();
        pair.Destination.WaitForSerial("B", MigrationPair.Passes(pair.Destination) + 2, Timeout);

        JsonNode dst = pair.DestinationQmp.Execute("query-migrate");
        Assert.NotNull(dst["postcopy-blocktime"]);
        Assert.Single(dst["postcopy-vcpu-blocktime"]!.AsArray());
        PostcopyDoneLine done = PostcopyDoneLine.WaitFor(pair);
        Assert.True(done.MainChannelPages > 0, "the background pages come on the main channel: " + done.Text);
        Assert.Equal(0, done.PreemptChannelPages);

        pair.CheckInvariantOnDestination();
    }

    /// <summary>
    /// With postcopy-preempt the source sends requested pages on the second channel (QEMU
    /// ram_save_host_page_urgent): the destination's summary counts pages placed from it. Background pages are
    /// slowed so the destination guest runs into missing pages and requests them.
    /// </summary>
    [Fact]
    public void CompletesWithPostcopyPreemptAndRequestedPagesArriveOnThePreemptChannel()
    {
        using var pair = MigrationPair.StartPostcopy("pc-preempt", 256, capabilities: ["postcopy-preempt"]);
        SlowPostcopy(pair);
        pair.MigrateAndSwitch();
        pair.WaitForSourceStatus("completed");
        pair.WaitForDestinationStatus("completed");
        PostcopyDoneLine done = PostcopyDoneLine.WaitFor(pair);
        Assert.True(done.PageRequests > 0, "the destination guest must have requested pages: " + done.Text);
        Assert.True(done.PreemptChannelPages > 0, "requested pages must arrive on the preempt channel: " + done.Text);
        Assert.True(done.MainChannelPages > 0, "background pages arrive on the main channel: " + done.Text);

        pair.Source.Kill();
        pair.Destination.WaitForSerial("B", MigrationPair.Passes(pair.Destination) + 2, Timeout);
        pair.CheckInvariantOnDestination();
    }

    [Fact]
    public void MigratePauseThenRecoverCompletes()
    {
        using var pair = MigrationPair.StartPostcopy("pc-pause");
        SlowPostcopy(pair);
        pair.MigrateAndSwitch();
        Assert.Equal("postcopy-active", MigrationPair.Status(pair.QuerySource()));

        pair.SourceQmp.Execute("migrate-pause");
        pair.WaitForSourceStatus("postcopy-paused");
        pair.WaitForDestinationStatus("postcopy-paused");
        pair.SourceQmp.WaitForEvent("MIGRATION", e => e["data"]?["status"]?.GetValue<string>() == "postcopy-paused");

        Recover(pair, Loopback.FreeTcpPort());
        pair.CheckInvariantOnDestination();
    }

    [Fact]
    public void BrokenSocketThenRecoverCompletes()
    {
        using var pair = MigrationPair.StartPostcopy("pc-proxy");
        SlowPostcopy(pair);
        using var proxy = new BreakableProxy(pair.Port);
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{proxy.Port}");

        proxy.Break();
        pair.WaitForSourceStatus("postcopy-paused");
        pair.WaitForDestinationStatus("postcopy-paused");

        // The destination's guest waits for its pages rather than failing.
        Assert.False(pair.Destination.HasExited);
        Recover(pair, Loopback.FreeTcpPort());
        pair.CheckInvariantOnDestination();
    }

    /// <summary>
    /// migrate_cancel once postcopy has switched (QEMU qmp_migrate_cancel): the guest's state lives on the
    /// destination, so a cancel could only lose it. It is refused with QEMU's error in postcopy-active and in
    /// postcopy-paused, nothing changes, and the migration recovers and completes.
    /// </summary>
    [Fact]
    public void MigrateCancelAfterThePostcopySwitchIsRefusedAndTheMigrationCompletes()
    {
        using var pair = MigrationPair.StartPostcopy("pc-nocancel");
        SlowPostcopy(pair);
        pair.MigrateAndSwitch();
        AssertCancelRefused(pair, "postcopy-active");

        pair.SourceQmp.Execute("migrate-pause");
        pair.WaitForSourceStatus("postcopy-paused");
        pair.WaitForDestinationStatus("postcopy-paused");
        AssertCancelRefused(pair, "postcopy-paused");

        Recover(pair, Loopback.FreeTcpPort());
        Assert.DoesNotContain("cancelling", MigrationPair.MigrationEvents(pair.SourceQmp, "completed"));
        pair.CheckInvariantOnDestination();
    }

    /// <summary>
    /// A second migrate-recover while the first one's listener waits for the source is refused with QEMU's words
    /// (postcopy_recover_triggered); the first listener still takes the resume.
    /// </summary>
    [Fact]
    public void SecondMigrateRecoverWhileTheFirstListensIsRefusedAsTriggeredAlready()
    {
        using var pair = MigrationPair.StartPostcopy("pc-recover-twice");
        SlowPostcopy(pair);
        pair.MigrateAndSwitch();
        pair.SourceQmp.Execute("migrate-pause");
        pair.WaitForSourceStatus("postcopy-paused");
        pair.WaitForDestinationStatus("postcopy-paused");

        int port = Loopback.FreeTcpPort();
        pair.DestinationQmp.Execute("migrate-recover", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}" });
        var e = Assert.Throws<QmpErrorException>(() =>
            pair.DestinationQmp.Execute("migrate-recover", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{Loopback.FreeTcpPort()}" }));
        Assert.Equal("GenericError", e.ErrorClass);
        Assert.Equal("Migrate recovery is triggered already", e.Desc);
        Assert.Equal("postcopy-paused", MigrationPair.Status(pair.DestinationQmp.Execute("query-migrate").AsObject()));

        Resume(pair, port);
        pair.CheckInvariantOnDestination();
    }

    [Fact]
    public void DestinationThatLosesTheSourceForGoodFailsCleanly()
    {
        using var pair = MigrationPair.StartPostcopy("pc-lost");
        SlowPostcopy(pair);
        pair.MigrateAndSwitch();
        pair.Source.Kill();
        pair.WaitForDestinationStatus("postcopy-paused");

        var error = Assert.Throws<QmpErrorException>(() => pair.DestinationQmp.Execute("migrate-recover", new JsonObject { ["uri"] = "defer" }));
        Assert.Contains("unknown migration protocol", error.Desc);

        // Giving up the recovery: the migration fails, the process ends with one clear line, and nothing hangs.
        pair.DestinationQmp.Execute("migrate_cancel");
        Assert.Equal(1, pair.Destination.WaitForExit(Timeout));
        Assert.Matches(
            @"^emu: postcopy: lost the source \(.+\) and recovery was abandoned; the guest cannot run without the [1-9]\d* pages it has not received$",
            ErrorLine(pair.Destination));
    }

    /// <summary>
    /// x-postcopy-recover-timeout (Emu's, on the destination): a source killed mid-postcopy never comes back; the
    /// paused destination waits the timeout, then fails with one line naming the missing pages and exits 1 (the
    /// migrate_cancel path). The only time bound is the generous wait for the exit.
    /// </summary>
    [Fact]
    public void DestinationGivesUpAfterTheRecoverTimeoutWhenTheSourceIsKilled()
    {
        using var pair = MigrationPair.StartPostcopy("pc-timeout");
        SlowPostcopy(pair);
        pair.DestinationQmp.Execute("migrate-set-parameters", new JsonObject { ["x-postcopy-recover-timeout"] = 2000 });
        Assert.Equal(2000, pair.DestinationQmp.Execute("query-migrate-parameters")["x-postcopy-recover-timeout"]!.GetValue<long>());
        pair.MigrateAndSwitch();

        pair.Source.Kill();
        Assert.Equal(1, pair.Destination.WaitForExit(Timeout));
        Assert.Matches(
            @"^emu: postcopy: lost the source \(.+\) and no recovery came within x-postcopy-recover-timeout \(2000 ms\); the guest cannot run without the [1-9]\d* pages it has not received$",
            ErrorLine(pair.Destination));

        // It paused first (waiting for a recovery, as QEMU), then failed.
        string log = pair.DestinationLog;
        int paused = log.IndexOf("migration: incoming status postcopy-paused", StringComparison.Ordinal);
        int failed = log.IndexOf("migration: incoming status failed", StringComparison.Ordinal);
        Assert.True(paused >= 0 && failed > paused, "the destination log must show postcopy-paused, then failed:\n" + log);
    }

    /// <summary>
    /// pause-before-switchover with postcopy (QEMU postcopy_start → migration_maybe_pause): the source stops, goes
    /// active → pre-switchover and sends nothing more until migrate-continue; then postcopy-active (not device),
    /// the discard list and device state, and the destination completes with the a-b invariant.
    /// </summary>
    [Fact]
    public void PauseBeforeSwitchoverHoldsThePostcopySwitchUntilMigrateContinue()
    {
        using var pair = MigrationPair.StartPostcopy("pc-preswitch", capabilities: ["pause-before-switchover"]);
        pair.MigrateAndStartPostcopy();
        pair.WaitForSourceStatus("pre-switchover");
        Assert.Equal("finish-migrate", MigrationPair.RunStatus(pair.SourceQmp));

        // Nothing of the switch has reached the destination: still loading precopy RAM, its guest not started.
        Thread.Sleep(300);
        Assert.Equal("pre-switchover", MigrationPair.Status(pair.QuerySource()));
        Assert.Equal("active", MigrationPair.Status(pair.DestinationQmp.Execute("query-migrate").AsObject()));
        Assert.Equal("inmigrate", MigrationPair.RunStatus(pair.DestinationQmp));

        var wrong = Assert.Throws<QmpErrorException>(() => pair.SourceQmp.Execute("migrate-continue", new JsonObject { ["state"] = "active" }));
        Assert.Equal("Migration not in expected state: pre-switchover", wrong.Desc);
        pair.SourceQmp.Execute("migrate-continue", new JsonObject { ["state"] = "pre-switchover" });
        pair.WaitForSourceStatus("completed");
        pair.WaitForDestinationStatus("completed");
        Assert.Equal(["setup", "active", "pre-switchover", "postcopy-active", "completed"], MigrationPair.MigrationEvents(pair.SourceQmp, "completed"));
        Assert.Contains("postcopy-active", MigrationPair.MigrationEvents(pair.DestinationQmp, "completed"));
        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));
        pair.CheckInvariantOnDestination();
    }

    /// <summary>
    /// migrate_cancel in the pre-switchover of a postcopy switch: nothing of the switch was sent, so the source
    /// guest runs on (cancelled, as QEMU's postcopy_start fail path), and the destination, whose stream ended
    /// before the device state, fails without ever running its guest.
    /// </summary>
    [Fact]
    public void CancelInPreSwitchoverOfAPostcopySwitchKeepsTheSourceRunning()
    {
        using var pair = MigrationPair.StartPostcopy("pc-precancel", capabilities: ["pause-before-switchover"]);
        pair.MigrateAndStartPostcopy();
        pair.WaitForSourceStatus("pre-switchover");
        int passes = MigrationPair.Passes(pair.Source);
        pair.SourceQmp.Execute("migrate_cancel");
        pair.WaitForSourceStatus("cancelled");
        Assert.Equal(["setup", "active", "pre-switchover", "cancelling", "cancelled"], MigrationPair.MigrationEvents(pair.SourceQmp, "cancelled"));
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));
        pair.Source.WaitForSerial("B", passes + 2, Timeout);
        MigrationPair.StopAndCheckInvariant(pair.Source, pair.SourceQmp, pair.RamBytes);

        Assert.Equal(1, pair.Destination.WaitForExit(Timeout));
        Assert.Equal("", pair.Destination.Serial);
    }

    [Fact]
    public void StartPostcopyPreconditions()
    {
        using var emu = EmuProcess.StartGuest("ab", "pc-pre", "-m", "32M");
        using QmpClient qmp = emu.ConnectQmp();
        var e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-start-postcopy"));
        Assert.Equal("Enable postcopy with migrate_set_capability before the start of migration", e.Desc);
        MigrationPair.SetCapability(qmp, "postcopy-ram");
        e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-start-postcopy"));
        Assert.Equal("Postcopy must be started after migration has been started", e.Desc);
        e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-pause"));
        Assert.Contains("only supported during postcopy-active", e.Desc);
        e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate", new JsonObject { ["uri"] = "tcp:127.0.0.1:1", ["resume"] = true }));
        Assert.Equal("Cannot resume if there is no paused migration", e.Desc);
    }

    internal static void SlowPostcopy(MigrationPair pair) =>
        pair.SetParameters(new JsonObject { ["max-postcopy-bandwidth"] = SlowPostcopyBytesPerSec });

    /// <summary>The one stderr line that is not a log line (the process's exit line, "emu: …").</summary>
    private static string ErrorLine(EmuProcess emu)
    {
        string[] lines = Array.FindAll(emu.StandardError.Split('\n', StringSplitOptions.TrimEntries), l => l.StartsWith("emu: ", StringComparison.Ordinal));
        return Assert.Single(lines);
    }

    private static void AssertCancelRefused(MigrationPair pair, string status)
    {
        string runState = MigrationPair.RunStatus(pair.SourceQmp);
        var e = Assert.Throws<QmpErrorException>(() => pair.SourceQmp.Execute("migrate_cancel"));
        Assert.Equal("GenericError", e.ErrorClass);
        Assert.Equal("Postcopy migration in progress, cannot cancel.", e.Desc);
        Assert.Equal(status, MigrationPair.Status(pair.QuerySource()));
        Assert.Equal(runState, MigrationPair.RunStatus(pair.SourceQmp));
    }

    /// <summary>migrate-recover on the destination, migrate resume=true on the source, both complete.</summary>
    private static void Recover(MigrationPair pair, int port)
    {
        pair.DestinationQmp.Execute("migrate-recover", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}" });
        Resume(pair, port);
    }

    /// <summary>migrate resume=true on the source to the destination's recover listener, both complete.</summary>
    private static void Resume(MigrationPair pair, int port)
    {
        pair.SetParameters(new JsonObject { ["max-postcopy-bandwidth"] = 0 });
        pair.SourceQmp.Execute("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}", ["resume"] = true });
        pair.WaitForSourceStatus("completed");
        pair.WaitForDestinationStatus("completed");
        pair.SourceQmp.WaitForEvent("MIGRATION", e => e["data"]?["status"]?.GetValue<string>() == "postcopy-recover");
    }
}
