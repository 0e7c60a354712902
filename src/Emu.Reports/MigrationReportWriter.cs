using System.Globalization;
using System.Text;
using System.Text.Json;
using Emu.Migration.Report;
using ScottPlot;

namespace Emu.Reports;

/// <summary>
/// The picture of one migration (issue 13): from its passes, <c>PREFIX.png</c> (ScottPlot: what is left to send and
/// what each pass found dirty, above the throttle, the bandwidth and the expected downtime, all against time),
/// <c>PREFIX.csv</c> (one row per pass) and <c>PREFIX.json</c> (the same rows as objects).
/// </summary>
public static class MigrationReportWriter
{
    public const int Width = 1000, Height = 700;

    public readonly record struct Files(string Png, string Csv, string Json);

    public static Files Write(IReadOnlyList<MigrationPass> passes, string prefix, string title)
    {
        if (passes.Count == 0)
        {
            throw new InvalidOperationException("migration report: the migration has no pass yet");
        }

        string dir = Path.GetDirectoryName(Path.GetFullPath(prefix)) ?? ".";
        Directory.CreateDirectory(dir);
        var files = new Files(prefix + ".png", prefix + ".csv", prefix + ".json");
        File.WriteAllText(files.Csv, Csv(passes));
        File.WriteAllText(files.Json, JsonSerializer.Serialize(passes, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower }));
        Plot(passes, title).SavePng(files.Png, Width, Height);
        return files;
    }

    public static string Csv(IReadOnlyList<MigrationPass> passes)
    {
        var csv = new StringBuilder("pass,time-ms,normal-pages,zero-pages,xbzrle-pages,dirtied-pages,remaining-bytes,transferred-bytes,throttle-percent,mbps,expected-downtime-ms\n");
        foreach (MigrationPass p in passes)
        {
            csv.AppendLine(string.Join(',', new object[]
            {
                p.Pass, p.TimeMs.ToString("F1", CultureInfo.InvariantCulture), p.NormalPages, p.ZeroPages, p.XbzrlePages, p.DirtiedPages,
                p.RemainingBytes, p.TransferredBytes, p.ThrottlePercent, p.Mbps.ToString("F1", CultureInfo.InvariantCulture), p.ExpectedDowntimeMs,
            }.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        }

        return csv.ToString();
    }

    private static Multiplot Plot(IReadOnlyList<MigrationPass> passes, string title)
    {
        double[] t = [.. passes.Select(p => p.TimeMs)];
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);

        Plot memory = multiplot.GetPlot(0);
        memory.Title(title);
        _ = Line(memory, t, [.. passes.Select(p => p.RemainingBytes / 1048576.0)], "remaining MiB");
        _ = Line(memory, t, [.. passes.Select(p => p.DirtiedPages * 4096 / 1048576.0)], "dirtied by the pass, MiB");
        // Sent grows without bound while the others stay under the guest's size: it gets the right axis.
        Line(memory, t, [.. passes.Select(p => p.TransferredBytes / 1048576.0)], "sent MiB (right axis)").Axes.YAxis = memory.Axes.Right;
        memory.YLabel("MiB");
        memory.Axes.Right.Label.Text = "sent MiB";
        memory.ShowLegend(Alignment.UpperRight);

        Plot rates = multiplot.GetPlot(1);
        _ = Line(rates, t, [.. passes.Select(p => (double)p.ThrottlePercent)], "throttle %");
        _ = Line(rates, t, [.. passes.Select(p => (double)p.ExpectedDowntimeMs)], "expected downtime ms");
        _ = Line(rates, t, [.. passes.Select(p => p.Mbps)], "bandwidth Mbit/s");
        rates.XLabel("time since the migration started (ms)");
        rates.ShowLegend(Alignment.UpperRight);
        return multiplot;
    }

    private static ScottPlot.Plottables.Scatter Line(Plot plot, double[] xs, double[] ys, string label)
    {
        ScottPlot.Plottables.Scatter s = plot.Add.Scatter(xs, ys);
        s.LegendText = label;
        s.MarkerSize = 5;
        return s;
    }
}
