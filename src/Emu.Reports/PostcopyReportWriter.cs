using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;

namespace Emu.Reports;

/// <summary>
/// The destination's picture of a postcopy migration: <c>PREFIX.png</c> with the remote fault latency histogram
/// (faults per latency bucket, request sent to page placed) above the blocktime of each vCPU and in total;
/// <c>PREFIX.csv</c> (a row per bucket) and <c>PREFIX.json</c> (buckets, percentiles, blocktimes).
/// </summary>
public static class PostcopyReportWriter
{
    public readonly record struct Data(
        IReadOnlyList<(long UpperBoundUs, long Count)> Buckets, long P50Us, long P99Us, uint BlocktimeMs, uint[] VcpuBlocktimeMs);

    public static MigrationReportWriter.Files Write(Data data, string prefix, string title)
    {
        if (data.Buckets.Count == 0)
        {
            throw new InvalidOperationException("postcopy report: no remote fault was served");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(prefix)) ?? ".");
        var files = new MigrationReportWriter.Files(prefix + ".png", prefix + ".csv", prefix + ".json");
        var csv = new StringBuilder("latency-upper-bound-us,faults\n");
        foreach ((long us, long n) in data.Buckets)
        {
            csv.Append(us.ToString(CultureInfo.InvariantCulture)).Append(',').Append(n.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        File.WriteAllText(files.Csv, csv.ToString());
        File.WriteAllText(files.Json, JsonSerializer.Serialize(new
        {
            buckets = data.Buckets.Select(b => new { upperBoundUs = b.UpperBoundUs, faults = b.Count }),
            p50Us = data.P50Us,
            p99Us = data.P99Us,
            blocktimeMs = data.BlocktimeMs,
            vcpuBlocktimeMs = data.VcpuBlocktimeMs,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower }));

        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        Plot latency = multiplot.GetPlot(0);
        latency.Title($"{title}: {data.Buckets.Sum(b => b.Count)} remote faults, p50 {data.P50Us} µs, p99 {data.P99Us} µs");
        double[] positions = [.. Enumerable.Range(0, data.Buckets.Count).Select(i => (double)i)];
        latency.Add.Bars(positions, [.. data.Buckets.Select(b => (double)b.Count)]);
        // At most 12 labels, so they never run into each other; the CSV has every bucket.
        int every = (data.Buckets.Count + 11) / 12;
        latency.Axes.Bottom.SetTicks(positions, [.. data.Buckets.Select((b, i) => i % every == 0 ? $"<{b.UpperBoundUs}" : "")]);
        latency.XLabel("fault latency, µs (bucket upper bound)");
        latency.YLabel("faults");

        Plot blocktime = multiplot.GetPlot(1);
        double[] vcpus = [.. Enumerable.Range(0, data.VcpuBlocktimeMs.Length + 1).Select(i => (double)i)];
        blocktime.Add.Bars(vcpus, [.. data.VcpuBlocktimeMs.Select(ms => (double)ms), data.BlocktimeMs]);
        blocktime.Axes.Bottom.SetTicks(vcpus, [.. data.VcpuBlocktimeMs.Select((_, i) => $"vCPU {i}"), "all blocked"]);
        blocktime.YLabel("blocktime, ms");
        multiplot.SavePng(files.Png, MigrationReportWriter.Width, MigrationReportWriter.Height);
        return files;
    }
}
