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
    private const long SlowPostcopyBytesPerSec = 16L << 20;

    [Fact]
    public void CompletesDestinationRunsAndTheSourceIsNotNeededAfterwards()
    {
        using var pair = PostcopyPair.Start("pc-basic", 256);
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{pair.Port}");
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.SourceQmp, "completed", "failed"));
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.DestinationQmp, "completed", "failed"));

        JsonNode src = pair.SourceQmp.Execute("query-migrate");
        Assert.True(src["ram"]!["postcopy-bytes"]!.GetValue<long>() > 0, "pages must have been sent after the switch");
        Assert.Equal("postmigrate", pair.SourceQmp.Execute("query-status")["status"]!.GetValue<string>());

        // The source's RAM is never needed after completion: kill it; the destination runs on.
        pair.Source.Kill();
        int bs = pair.Destination.Serial.Count(c => c == 'B');
        pair.Destination.WaitForSerial("B", bs + 2, PostcopyPair.Timeout);

        JsonNode dst = pair.DestinationQmp.Execute("query-migrate");
        Assert.NotNull(dst["postcopy-blocktime"]);
        Assert.Single(dst["postcopy-vcpu-blocktime"]!.AsArray());
        Assert.Contains("postcopy: done in", pair.DestinationLog);

        CheckInvariantOnDestination(pair);
    }

    [Fact]
    public void CompletesWithPostcopyPreempt()
    {
        using var pair = PostcopyPair.Start("pc-preempt", 256, "postcopy-preempt");
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{pair.Port}");
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.SourceQmp, "completed", "failed"));
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.DestinationQmp, "completed", "failed"));
        Assert.Contains("preempt channel done", pair.DestinationLog);
        pair.Source.Kill();
        int bs = pair.Destination.Serial.Count(c => c == 'B');
        pair.Destination.WaitForSerial("B", bs + 2, PostcopyPair.Timeout);
        CheckInvariantOnDestination(pair);
    }

    [Fact]
    public void MigratePauseThenRecoverCompletes()
    {
        using var pair = PostcopyPair.Start("pc-pause", 128);
        SlowPostcopy(pair);
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{pair.Port}");
        Assert.Equal("postcopy-active", PostcopyPair.Status(pair.SourceQmp));

        pair.SourceQmp.Execute("migrate-pause");
        Assert.Equal("postcopy-paused", PostcopyPair.WaitForStatus(pair.SourceQmp, "postcopy-paused"));
        Assert.Equal("postcopy-paused", PostcopyPair.WaitForStatus(pair.DestinationQmp, "postcopy-paused"));
        pair.SourceQmp.WaitForEvent("MIGRATION", e => e["data"]?["status"]?.GetValue<string>() == "postcopy-paused");

        Recover(pair, Loopback.FreeTcpPort());
        CheckInvariantOnDestination(pair);
    }

    [Fact]
    public void BrokenSocketThenRecoverCompletes()
    {
        using var pair = PostcopyPair.Start("pc-proxy", 128);
        SlowPostcopy(pair);
        using var proxy = new BreakableProxy(pair.Port);
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{proxy.Port}");

        proxy.Break();
        Assert.Equal("postcopy-paused", PostcopyPair.WaitForStatus(pair.SourceQmp, "postcopy-paused"));
        Assert.Equal("postcopy-paused", PostcopyPair.WaitForStatus(pair.DestinationQmp, "postcopy-paused"));

        // The destination's guest waits for its pages rather than failing.
        Assert.False(pair.Destination.HasExited);
        Recover(pair, Loopback.FreeTcpPort());
        CheckInvariantOnDestination(pair);
    }

    [Fact]
    public void DestinationThatLosesTheSourceForGoodFailsCleanly()
    {
        using var pair = PostcopyPair.Start("pc-lost", 128);
        SlowPostcopy(pair);
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{pair.Port}");
        pair.Source.Kill();
        try
        {
            Assert.Equal("postcopy-paused", PostcopyPair.WaitForStatus(pair.DestinationQmp, "postcopy-paused"));
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException)
        {
            throw new InvalidOperationException(e.Message + pair.Diagnostics() + pair.DestinationLog, e);
        }

        var error = Assert.Throws<QmpErrorException>(() => pair.DestinationQmp.Execute("migrate-recover", new JsonObject { ["uri"] = "defer" }));
        Assert.Contains("unknown migration protocol", error.Desc);

        // Giving up the recovery: the migration fails, the process ends with one clear line, and nothing hangs.
        pair.DestinationQmp.Execute("migrate_cancel");
        int code = pair.Destination.WaitForExit(PostcopyPair.Timeout);
        Assert.Equal(1, code);
        Assert.Contains("the guest cannot run without the", pair.Destination.StandardError);
    }

    [Fact]
    public void StartPostcopyPreconditions()
    {
        using var emu = EmuProcess.StartGuest("ab", "pc-pre", "-m", "32M");
        using QmpClient qmp = emu.ConnectQmp();
        var e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-start-postcopy"));
        Assert.Equal("Enable postcopy with migrate_set_capability before the start of migration", e.Desc);
        PostcopyPair.SetCapabilities(qmp, ["postcopy-ram"]);
        e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-start-postcopy"));
        Assert.Equal("Postcopy must be started after migration has been started", e.Desc);
        e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate-pause"));
        Assert.Contains("only supported during postcopy-active", e.Desc);
        e = Assert.Throws<QmpErrorException>(() => qmp.Execute("migrate", new JsonObject { ["uri"] = "tcp:127.0.0.1:1", ["resume"] = true }));
        Assert.Equal("Cannot resume if there is no paused migration", e.Desc);
    }

    private static void SlowPostcopy(PostcopyPair pair) =>
        pair.SourceQmp.Execute("migrate-set-parameters", new JsonObject { ["max-postcopy-bandwidth"] = SlowPostcopyBytesPerSec });

    /// <summary>migrate-recover on the destination, migrate resume=true on the source, both complete.</summary>
    private static void Recover(PostcopyPair pair, int port)
    {
        pair.SourceQmp.Execute("migrate-set-parameters", new JsonObject { ["max-postcopy-bandwidth"] = 0 });
        pair.DestinationQmp.Execute("migrate-recover", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}" });
        pair.SourceQmp.Execute("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}", ["resume"] = true });
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.SourceQmp, "completed", "failed"));
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.DestinationQmp, "completed", "failed"));
        pair.SourceQmp.WaitForEvent("MIGRATION", e => e["data"]?["status"]?.GetValue<string>() == "postcopy-recover");
    }

    private static void CheckInvariantOnDestination(PostcopyPair pair)
    {
        int bs = pair.Destination.Serial.Count(c => c == 'B');
        pair.Destination.WaitForSerial("B", bs + 1, PostcopyPair.Timeout);
        pair.DestinationQmp.Execute("stop");
        AbInvariant.CheckOverQmp(pair.DestinationQmp, pair.Destination.Directory, pair.RamBytes);
    }
}
