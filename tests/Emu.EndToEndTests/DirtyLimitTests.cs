using System.Diagnostics;
using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// Dirty-limit between two real processes (issue 13 item 4): with the dirty-limit capability the migration that
/// cannot converge holds the vCPU to vcpu-dirty-limit MiB/s instead of throttling it, converges at QEMU's defaults,
/// and lifts the limit when it ends; calc-dirty-rate measures the guest's rate in each of QEMU's three modes.
/// </summary>
public sealed class DirtyLimitTests
{
    private static readonly TimeSpan Timeout = MigrationPair.Timeout;

    /// <summary>
    /// The ab guest re-dirties all of its 125 MiB hundreds of times a second: at 128 MiB/s and 300 ms it never fits
    /// (the QEMU-defaults macro case); the dirty limit makes it fit, the guest made passes during the migration and
    /// goes on at the destination with the a-b rule intact.
    /// </summary>
    [Fact]
    public void AtQemuDefaultsDirtyLimitConvergesAndTheGuestKeepsRunning()
    {
        using var pair = MigrationPair.Start("dl-defaults", ramMiB: 128);
        pair.SetCapability("dirty-limit");
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = 128UL << 20, ["downtime-limit"] = 300 });
        int passesAtStart = MigrationPair.Passes(pair.Source);
        pair.Migrate();

        bool limitSeen = false;
        var clock = Stopwatch.StartNew();
        JsonObject info;
        while (MigrationPair.Status(info = pair.QuerySource()) is "setup" or "active" or "device")
        {
            Assert.Null(info["cpu-throttle-percentage"]);
            if (info["dirty-limit-throttle-time-per-round"] != null)
            {
                limitSeen = true;
                Assert.NotNull(info["dirty-limit-ring-full-time"]);
            }

            Assert.True(clock.Elapsed < Timeout, $"not converged: {info.ToJsonString()}\n{pair.Diagnostics()}");
            Thread.Sleep(20);
        }

        PrecopyTests.AssertCompletedInfo(info, pair.RamBytes);
        Assert.True(limitSeen, $"the dirty limit never showed in query-migrate\n{pair.Diagnostics()}");
        Assert.True(MigrationPair.Passes(pair.Source) > passesAtStart, "the guest made no pass during the migration");

        // The limit went with the migration.
        Assert.Empty(pair.SourceQmp.Execute("query-vcpu-dirty-limit").AsArray());
        // The destination completes a little after the source: it still loads the device state.
        pair.WaitForDestinationStatus("completed");
        PrecopyTests.AssertDestinationCompleted(pair.DestinationQmp);
        int atDestination = MigrationPair.Passes(pair.Destination);
        pair.Destination.WaitForSerial("B", atDestination + 2, Timeout);
        PrecopyTests.StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    /// <summary>
    /// A limited migration held at pre-switchover: the user may not change the limit under it; a cancel lifts the
    /// limit, and the source guest runs at full speed again with nothing lost. Under the 1 MiB/s limit an 8 MiB pass
    /// of the guest takes 8 s, so twenty passes within the timeout prove the limit is gone.
    /// </summary>
    [Fact]
    public void CancelLiftsTheLimitAndTheSourceGuestRunsAtFullSpeed()
    {
        using var pair = MigrationPair.Start("dl-cancel", ramMiB: 64, append: "region=8");
        pair.SetCapability("dirty-limit");
        pair.SetCapability("pause-before-switchover");
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = 4UL << 20, ["downtime-limit"] = 300 });
        pair.Migrate();
        pair.WaitForSourceStatus("pre-switchover");
        JsonArray limits = pair.SourceQmp.Execute("query-vcpu-dirty-limit").AsArray();
        Assert.True(limits.Count == 1, $"pre-switchover without the migration's dirty limit in service (query-vcpu-dirty-limit: {limits.ToJsonString()})\n"
            + $"query-migrate: {pair.SourceQmp.Execute("query-migrate").ToJsonString()}\n{pair.Diagnostics()}");
        JsonObject vcpu = limits[0]!.AsObject();
        Assert.Equal(0, vcpu["cpu-index"]!.GetValue<int>());
        Assert.Equal(1, vcpu["limit-rate"]!.GetValue<long>());

        var refused = Assert.Throws<QmpErrorException>(() => pair.SourceQmp.Execute("set-vcpu-dirty-limit", new JsonObject { ["dirty-rate"] = 100 }));
        Assert.Equal("can't set dirty page rate limit while migration is running", refused.Desc);
        refused = Assert.Throws<QmpErrorException>(() => pair.SourceQmp.Execute("cancel-vcpu-dirty-limit"));
        Assert.Equal("can't cancel dirty page rate limit while migration is running", refused.Desc);

        pair.SourceQmp.Execute("migrate_cancel");
        MigrationPair.WaitForStatus(pair.SourceQmp, ["cancelled"], Timeout);
        Assert.Empty(pair.SourceQmp.Execute("query-vcpu-dirty-limit").AsArray());
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));

        int before = MigrationPair.Passes(pair.Source);
        pair.Source.WaitForSerial("B", before + 20, Timeout);
        PrecopyTests.StopAndCheck(pair.Source, pair.SourceQmp, pair.RamBytes, 8UL << 20);
    }

    /// <summary>
    /// calc-dirty-rate then query-dirty-rate in each mode: the ab guest, which rewrites 125 MiB many times a second,
    /// measures tens of MiB/s or more; the idle guest, halted with interrupts off, measures at most 1 MiB/s.
    /// </summary>
    [Theory]
    [InlineData("page-sampling")]
    [InlineData("dirty-ring")]
    [InlineData("dirty-bitmap")]
    public void CalcDirtyRateMeasuresTheAbGuestAndAnIdleOne(string mode)
    {
        using EmuProcess ab = EmuProcess.StartGuest("ab", $"dl-rate-ab-{mode}", "-m", "128M");
        using EmuProcess idle = EmuProcess.StartGuest("idle", $"dl-rate-idle-{mode}", "-m", "128M");
        ab.WaitForSerial("B", Timeout);
        idle.WaitForSerial("I", Timeout);
        using QmpClient abQmp = ab.ConnectQmp();
        using QmpClient idleQmp = idle.ConnectQmp();

        JsonObject abRate = Measure(abQmp, mode);
        JsonObject idleRate = Measure(idleQmp, mode);
        long abMb = abRate["dirty-rate"]!.GetValue<long>(), idleMb = idleRate["dirty-rate"]!.GetValue<long>();
        Assert.True(abMb is >= 20 and <= 2048, $"ab: {abRate.ToJsonString()}");
        Assert.True(idleMb <= 1, $"idle: {idleRate.ToJsonString()}");
        if (mode == "dirty-ring")
        {
            Assert.Equal(abMb, abRate["vcpu-dirty-rate"]![0]!["dirty-rate"]!.GetValue<long>());
        }

        // Measuring leaves no tracking behind: the limit list is empty and a new measurement may start.
        Assert.Empty(abQmp.Execute("query-vcpu-dirty-limit").AsArray());
    }

    private static JsonObject Measure(QmpClient qmp, string mode)
    {
        qmp.Execute("calc-dirty-rate", new JsonObject { ["calc-time"] = 1, ["mode"] = mode });
        var clock = Stopwatch.StartNew();
        JsonObject info;
        while ((info = qmp.Execute("query-dirty-rate").AsObject())["status"]!.GetValue<string>() != "measured")
        {
            Assert.Equal("measuring", info["status"]!.GetValue<string>());
            Assert.True(clock.Elapsed < Timeout, info.ToJsonString());
            Thread.Sleep(50);
        }

        Assert.Equal(mode, info["mode"]!.GetValue<string>());
        Assert.True(info["calc-time"]!.GetValue<long>() >= 1, info.ToJsonString());
        return info;
    }
}
