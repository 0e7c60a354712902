using System.Diagnostics;
using System.Globalization;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// Wall time from process start to a point in its stdout, for Emu and QEMU's TCG alternating, <c>--repeat N</c>
/// runs each (default 5): medians, ranges and the Emu/QEMU ratio in one table. <c>macro linux-boot</c> and
/// <c>macro seabios-boot</c> are this with their own arguments and their own goal.
/// </summary>
internal sealed record TimeToOutput(string Bench, string Title, string Goal, Func<Stream, bool> Reached, TimeSpan Timeout)
{
    public static int Repeat(string[] args) =>
        args.Length >= 2 && args[0] == "--repeat" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;

    /// <summary>Runs both sides <paramref name="repeat"/> times, alternating, prints the table; 1 when an Emu run failed.</summary>
    public int Compare(int repeat, string[] emuArgs, string qemuLabel, string[] qemuArgs)
    {
        string? qemu = RepoPaths.FindQemu();
        var emuTimes = new List<double>();
        var qemuTimes = new List<double>();
        for (int i = 0; i < repeat; i++)
        {
            if (Measure($"Emu {i + 1}/{repeat}", RepoPaths.Emu, emuArgs) is { } e)
            {
                emuTimes.Add(e);
            }

            if (qemu != null && Measure($"QEMU {i + 1}/{repeat}", qemu, qemuArgs) is { } q)
            {
                qemuTimes.Add(q);
            }
        }

        ProgressLine.Clear();
        var table = new MarkdownTable(Title, "runs", "median s", "range s");
        table.Add("Emu", emuTimes.Count.ToString(CultureInfo.InvariantCulture), Median(emuTimes), Range(emuTimes));
        if (qemu == null)
        {
            Console.WriteLine($"{Bench}: QEMU not measured (qemu-system-i386 not found; Debian package qemu-system-x86)");
        }
        else
        {
            table.Add(qemuLabel, qemuTimes.Count.ToString(CultureInfo.InvariantCulture), Median(qemuTimes), Range(qemuTimes));
            if (emuTimes.Count > 0 && qemuTimes.Count > 0)
            {
                table.Add("**Emu/QEMU**", "", Ratio(emuTimes.Order().ElementAt(emuTimes.Count / 2), qemuTimes.Order().ElementAt(qemuTimes.Count / 2)),
                    $"{Ratio(emuTimes.Min(), qemuTimes.Max())}–{Ratio(emuTimes.Max(), qemuTimes.Min())}");
            }
        }

        Console.WriteLine();
        Console.WriteLine(table);
        return emuTimes.Count == repeat ? 0 : 1;
    }

    /// <summary>
    /// Seconds from process start until <see cref="Reached"/> returns true reading its stdout, or null with the
    /// reason printed; the process is killed either way.
    /// </summary>
    private double? Measure(string name, string program, string[] args)
    {
        ProcessStartInfo psi = ChildProcesses.Redirected(program, args);

        ProgressLine.Show($"{Bench}: {name} booting");
        long start = Stopwatch.GetTimestamp();
        Process p = ChildProcesses.Start(psi);
        try
        {
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            Task<bool> reached = Task.Run(() => Reached(p.StandardOutput.BaseStream));
            if (!reached.Wait(Timeout) || !reached.Result)
            {
                ProgressLine.Clear();
                Console.WriteLine($"{Bench}: {name} did not reach {Goal} within {Timeout.TotalSeconds:0} s");
                return null;
            }

            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        finally
        {
            ChildProcesses.Kill(p);
            p.Dispose();
        }
    }

    private static string Median(List<double> v) =>
        v.Count == 0 ? "-" : v.Order().ElementAt(v.Count / 2).ToString("F2", CultureInfo.InvariantCulture);

    private static string Range(List<double> v) =>
        v.Count == 0 ? "-" : $"{v.Min().ToString("F2", CultureInfo.InvariantCulture)}–{v.Max().ToString("F2", CultureInfo.InvariantCulture)}";

    private static string Ratio(double a, double b) => (a / b).ToString("F2", CultureInfo.InvariantCulture);
}
