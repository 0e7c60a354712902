using System.Text.Json.Nodes;
using Emu.Display;
using Emu.UnitTests.Display;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>The picture of a migration (issue 13): x-emu-migration-report after a real precopy between two emus.</summary>
public sealed class MigrationReportTests
{
    [Fact]
    public void AFinishedMigrationWritesAPlotAndOneRowPerPass()
    {
        using MigrationPair pair = MigrationPair.Start("report", ramMiB: 128);
        pair.SetUnlimitedBandwidth();
        JsonObject info = pair.MigrateToCompletion();
        long passes = (long)info["ram"]!["dirty-sync-count"]!;
        Assert.True(passes >= 2, $"{passes} pass(es): the setup sync and at least one more");

        string prefix = Path.Combine(pair.Source.Directory, "report", "migration");
        JsonNode files = pair.SourceQmp.Execute("x-emu-migration-report", new JsonObject { ["filename"] = prefix })!;
        Assert.Equal(prefix + ".png", (string)files["png"]!);

        FrameBuffer png = PngImage.Read(File.ReadAllBytes(prefix + ".png"));
        Assert.Equal((1000, 700), (png.Width, png.Height));
        Assert.True(png.Pixels.Distinct().Count() > 4, "the plot is blank");

        string[] rows = File.ReadAllLines(prefix + ".csv");
        Assert.StartsWith("pass,time-ms,", rows[0]);
        Assert.Equal(passes, rows.Length - 1);
        Assert.Equal(Enumerable.Range(1, (int)passes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Skip(1).Select(r => r.Split(',')[0]));
        JsonArray json = JsonNode.Parse(File.ReadAllText(prefix + ".json"))!.AsArray();
        Assert.Equal(passes, json.Count);
        Assert.True((long)json[^1]!["transferred-bytes"]! > 64L << 20, "the last pass has not sent the guest's RAM");
    }

    /// <summary>On a postcopy destination the report is that side's: the fault latency histogram and the blocktime per vCPU.</summary>
    [Fact]
    public void APostcopyDestinationWritesItsFaultLatencyHistogramAndBlocktime()
    {
        using MigrationPair pair = MigrationPair.StartPostcopy("report-postcopy", ramMiB: 64);

        // Postcopy's background push is held back too: unlimited, it can place every page the guest dirtied before
        // the destination's vCPU first touches one, and there is no remote fault to report (seen once in CI).
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = 32L << 20, ["max-postcopy-bandwidth"] = 32L << 20 });
        pair.MigrateAndStartPostcopy();
        MigrationPair.WaitForStatus(pair.SourceQmp, ["completed"], MigrationPair.Timeout, pair.Diagnostics);
        MigrationPair.WaitForStatus(pair.DestinationQmp, ["completed"], MigrationPair.Timeout, pair.Diagnostics);

        string prefix = Path.Combine(pair.Destination.Directory, "postcopy");
        pair.DestinationQmp.Execute("x-emu-migration-report", new JsonObject { ["filename"] = prefix });
        FrameBuffer png = PngImage.Read(File.ReadAllBytes(prefix + ".png"));
        Assert.Equal((1000, 700), (png.Width, png.Height));
        string[] rows = File.ReadAllLines(prefix + ".csv");
        Assert.Equal("latency-upper-bound-us,faults", rows[0]);
        long faults = rows.Skip(1).Sum(r => long.Parse(r.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(faults > 0, "no remote fault in the histogram");
        JsonNode json = JsonNode.Parse(File.ReadAllText(prefix + ".json"))!;
        Assert.Single(json["vcpu-blocktime-ms"]!.AsArray());
        Assert.True((long)json["p99-us"]! >= (long)json["p50-us"]!);
    }

    [Fact]
    public void WithoutAMigrationTheReportIsRefused()
    {
        using var emu = EmuProcess.StartGuest("ab", "report-none", "-m", "32M");
        using QmpClient qmp = emu.ConnectQmp();
        var e = Assert.Throws<QmpErrorException>(() => qmp.Execute("x-emu-migration-report", new JsonObject { ["filename"] = Path.Combine(emu.Directory, "m") }));
        Assert.Contains("no outgoing migration", e.Message);
    }
}
