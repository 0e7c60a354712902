using System.Globalization;
using Emu.EndToEndTests.Support;

namespace Emu.Stress;

/// <summary>
/// <c>soak [PRECOPY] [POSTCOPY] [MiB]</c>: one a-b guest (default 128 MiB) ping-pongs between two emu processes
/// for PRECOPY precopy hops (default 20) and POSTCOPY postcopy hops (default 10), the postcopy ones spread among
/// the others; the a-b rule is checked after every hop. Prints each hop's time, downtime and blocktime, then a
/// summary; exits 1 at the first hop that fails, with what both processes said.
/// </summary>
internal static class SoakCommand
{
    public static int Run(string[] args)
    {
        int precopy = args.Length >= 1 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        int postcopy = args.Length >= 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
        int ramMiB = args.Length >= 3 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 128;
        int total = precopy + postcopy;
        Console.WriteLine($"soak: {precopy} precopy + {postcopy} postcopy hops of the a-b guest ({ramMiB} MiB)");
        var hops = new List<PingPongHop>();
        using PingPong pingPong = PingPong.Start("soak", ramMiB);
        for (int i = 0; i < total; i++)
        {
            // Hop i is postcopy when the running share of postcopy hops steps up: they spread evenly.
            bool isPostcopy = (i + 1) * postcopy / total > i * postcopy / total;
            try
            {
                PingPongHop hop = pingPong.Hop(isPostcopy);
                hops.Add(hop);
                string blocktime = hop.BlocktimeMs is { } b ? $", blocktime {b} ms" : "";
                Console.WriteLine($"hop {hop.Number,3}/{total} {hop.Kind,-8} {hop.TotalMs,7:F0} ms, downtime {hop.DowntimeMs} ms{blocktime}, a-b ok (v={hop.AbValue})");
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or IOException or TimeoutException or QmpErrorException)
            {
                Console.WriteLine($"hop {i + 1}/{total} {(isPostcopy ? "postcopy" : "precopy")} FAILED: {e.Message}\n{pingPong.Diagnostics()}");
                Summary(hops, total);
                return 1;
            }
        }

        Summary(hops, total);
        return 0;
    }

    private static void Summary(List<PingPongHop> hops, int total)
    {
        foreach (bool postcopy in new[] { false, true })
        {
            List<PingPongHop> kind = hops.FindAll(h => h.Postcopy == postcopy);
            if (kind.Count == 0)
            {
                continue;
            }

            List<double> ms = kind.Select(h => h.TotalMs).Order().ToList();
            List<long> down = kind.Select(h => h.DowntimeMs).Order().ToList();
            string blocktime = postcopy ? $", blocktime median {kind.Select(h => h.BlocktimeMs ?? 0).Order().ElementAt(kind.Count / 2)} ms" : "";
            Console.WriteLine($"soak: {kind.Count} {kind[0].Kind} hops: time median {ms[ms.Count / 2]:F0} ms (min {ms[0]:F0}, max {ms[^1]:F0}), downtime median {down[down.Count / 2]} ms (max {down[^1]}){blocktime}");
        }

        Console.WriteLine($"soak: {hops.Count} of {total} hops passed the a-b rule");
    }
}
