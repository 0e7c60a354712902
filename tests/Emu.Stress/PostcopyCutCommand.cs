using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emu.EndToEndTests.Support;

namespace Emu.Stress;

/// <summary>
/// <c>postcopy-cut [RUNS] [OUTAGE-MS …]</c>: where postcopy blocktime goes when the link breaks. Each run migrates
/// the a-b guest (128 MiB) by postcopy through a proxy, at 16 MiB/s after the switch so most pages are still
/// missing; it cuts the link (RST) 500 ms into postcopy, leaves it down OUTAGE ms after both sides paused, then
/// recovers (migrate-recover + migrate resume=true) and lets it complete. The destination's blocktime is read
/// while the link is down (no page arrives, so no parked interval can close) and again when it first moves after
/// the recovery: that jump is the vCPU's wait across the cut, set beside the time the link was unusable. A run
/// without a cut is the baseline. Prints one markdown row per run.
/// </summary>
internal static partial class PostcopyCutCommand
{
    private const int RamMiB = 128;
    private const long PostcopyBytesPerSec = 16L << 20;
    private static readonly TimeSpan IntoPostcopy = TimeSpan.FromMilliseconds(500);

    public static int Run(string[] args)
    {
        int runs = args.Length >= 1 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        int[] outages = args.Length >= 2 ? [.. args[1..].Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : [0, 1000, 4000];
        Console.WriteLine($"postcopy-cut: a-b {RamMiB} MiB, postcopy at {PostcopyBytesPerSec >> 20} MiB/s, RST cut {IntoPostcopy.TotalMilliseconds:0} ms after the switch; {runs} runs per case");
        Console.WriteLine("| case | cut → both paused ms | link down (cut → recover) ms | recover → active ms | cut → active again ms | blocktime added when the parked vCPU wakes ms | blocktime at end ms | postcopy total ms | fault p99 ms | pages placed / already present |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        int failed = 0;
        for (int r = 0; r < runs; r++)
        {
            foreach (int? outage in new int?[] { null }.Concat(outages.Select(o => (int?)o)))
            {
                string name = outage is { } o ? $"cut, {o} ms outage" : "no cut";
                try
                {
                    Console.WriteLine(Row(name, Measure(outage)));
                }
                catch (Exception e) when (e is Xunit.Sdk.XunitException or InvalidOperationException or IOException or TimeoutException or QmpErrorException)
                {
                    // One run's failure is reported in its row; the other runs still measure.
                    Console.WriteLine($"| {name} | failed: {e.Message.Split('\n')[0]} |");
                    failed++;
                }
            }
        }

        return failed == 0 ? 0 : 1;
    }

    private static string Row(string name, CutFigures f) =>
        $"| {name} | {f.CutToPausedMs} | {f.LinkDownMs} | {f.RecoverToActiveMs} | {f.LinkDownMs + f.RecoverToActiveMs} | {f.BlocktimeAfterRecoveryMs - f.BlocktimeAtRecoverMs} | {f.BlocktimeEndMs} | {f.PostcopyMs} | {f.FaultP99Ms} | {f.PagesPlaced} / {f.PagesAlreadyPresent} |";

    private static CutFigures Measure(int? outageMs)
    {
        using var pair = MigrationPair.StartPostcopy($"cut-{outageMs}", RamMiB);
        pair.SetParameters(new JsonObject { ["max-postcopy-bandwidth"] = PostcopyBytesPerSec });
        using var proxy = new BreakableProxy(pair.Port);
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{proxy.Port}");
        Thread.Sleep(IntoPostcopy);
        if (outageMs is not { } outage)
        {
            pair.WaitForDestinationStatus("completed");
            pair.WaitForSourceStatus("completed");
            return Finish(pair, new CutFigures());
        }

        var figures = new CutFigures();
        var clock = Stopwatch.StartNew();
        proxy.Cut(LinkCut.Rst);
        pair.WaitForSourceStatus("postcopy-paused");
        pair.WaitForDestinationStatus("postcopy-paused");
        figures.CutToPausedMs = clock.ElapsedMilliseconds;
        Thread.Sleep(outage);
        figures.LinkDownMs = clock.ElapsedMilliseconds;

        // No page arrives while the link is down, so no parked interval closes: this is the figure the wake adds to.
        figures.BlocktimeAtRecoverMs = Blocktime(pair);
        long atRecover = figures.BlocktimeAtRecoverMs;
        int port = Loopback.FreeTcpPort();
        pair.DestinationQmp.Execute("migrate-recover", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}" });
        pair.SourceQmp.Execute("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{port}", ["resume"] = true });
        long recoverAt = clock.ElapsedMilliseconds;
        MigrationPair.WaitForStatus(pair.DestinationQmp, ["postcopy-active", "completed"], MigrationPair.Timeout, pair.Diagnostics);
        figures.RecoverToActiveMs = clock.ElapsedMilliseconds - recoverAt;

        // The parked vCPU's interval closes when its page arrives, just after the recovery; only then is it counted.
        var wake = Stopwatch.StartNew();
        while ((figures.BlocktimeAfterRecoveryMs = Blocktime(pair)) == atRecover && wake.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(5);
        }

        pair.WaitForSourceStatus("completed");
        pair.WaitForDestinationStatus("completed");
        return Finish(pair, figures);
    }

    private static CutFigures Finish(MigrationPair pair, CutFigures figures)
    {
        figures.BlocktimeEndMs = Blocktime(pair);
        Match done = Match.Empty;
        pair.WaitUntil(() => (done = DoneLine().Match(pair.DestinationLog)).Success, "the destination's 'postcopy: done' line");
        figures.PostcopyMs = long.Parse(done.Groups["ms"].Value, CultureInfo.InvariantCulture);
        figures.FaultP99Ms = long.Parse(done.Groups["p99"].Value, CultureInfo.InvariantCulture) / 1000;
        Match completed = Match.Empty;
        pair.WaitUntil(() => (completed = CompletedLine().Match(pair.DestinationLog)).Success, "the destination's 'incoming completed' line");
        figures.PagesPlaced = long.Parse(completed.Groups["pages"].Value, CultureInfo.InvariantCulture);
        figures.PagesAlreadyPresent = long.Parse(completed.Groups["present"].Value, CultureInfo.InvariantCulture);
        pair.CheckInvariantOnDestination();
        return figures;
    }

    private static long Blocktime(MigrationPair pair) =>
        pair.DestinationQmp.Execute("query-migrate")["postcopy-blocktime"]?.GetValue<long>() ?? 0;

    [GeneratedRegex(@"postcopy: done in (?<ms>\d+) ms, .*? fault latency p50 \d+ us p99 (?<p99>\d+) us")]
    private static partial Regex DoneLine();

    [GeneratedRegex(@"incoming completed \(postcopy\), (?<pages>\d+) pages, (?<present>\d+) already present")]
    private static partial Regex CompletedLine();

    private sealed class CutFigures
    {
        public long CutToPausedMs { get; set; }

        public long LinkDownMs { get; set; }

        public long RecoverToActiveMs { get; set; }

        public long BlocktimeAtRecoverMs { get; set; }

        public long BlocktimeAfterRecoveryMs { get; set; }

        public long BlocktimeEndMs { get; set; }

        public long PostcopyMs { get; set; }

        public long FaultP99Ms { get; set; }

        public long PagesPlaced { get; set; }

        public long PagesAlreadyPresent { get; set; }
    }
}
