using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// <c>macro speed [--repeat N]</c>: guest MIPS on the <c>speed</c> guest, which prints 'S', runs exactly
/// 1,000,000,000 instructions, prints 'E'. The time between the two bytes on the serial line gives the rate. Each
/// round runs, one after another, Emu (tier 2 on), Emu with tier 2 off (<c>-accel tcg,jit=off</c>), QEMU's TCG and
/// v86, N rounds (default 3), so all share the machine's load alike; the table gives each one's median and range
/// and the Emu/QEMU and Emu/v86 speed ratios (median, and the range from the worst to the best pairing). Emu's runs
/// also report tier 2's compile time per block from its log.
/// </summary>
internal static partial class GuestSpeed
{
    public const double GuestInstructions = 1_000_000_000;

    /// <summary>Far above any plausible run (1e9 instructions at under 6 MIPS), so only a hang hits it.</summary>
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    public static int Run(string[] args)
    {
        int repeat = args.Length >= 2 && args[0] == "--repeat" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        string kernel = RepoPaths.Guest("speed.elf");
        string[] emuArgs = ["-m", "64M", "-kernel", kernel, "-serial", "stdio", "-display", "none", "-d", "information"];
        var contenders = new List<Contender>
        {
            new("Emu (tier 2)", RepoPaths.Emu, emuArgs),
            new("Emu (tier 1 only)", RepoPaths.Emu, [.. emuArgs, "-accel", "tcg,jit=off"]),
        };
        if (RepoPaths.FindQemu() is { } q)
        {
            contenders.Add(new("QEMU TCG", q, ["-accel", "tcg", "-m", "64M", "-kernel", kernel, "-serial", "stdio", "-display", "none",
                "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-no-reboot"]));
        }
        else
        {
            Console.WriteLine("speed: QEMU not measured (qemu-system-i386 not found; Debian package qemu-system-x86)");
        }

        if (V86Runner.CommandLine(kernel, "64", out string why) is { } v86)
        {
            contenders.Add(new("v86", v86[0], v86[1..]));
        }
        else
        {
            Console.WriteLine($"speed: v86 not measured: {why}");
        }

        var compileTimes = new List<string>();
        for (int round = 0; round < repeat; round++)
        {
            foreach (Contender c in contenders)
            {
                if (Measure($"{c.Name} {round + 1}/{repeat}", c.Program, c.Args, waitForLog: c == contenders[0], out string log) is { } seconds)
                {
                    c.Mips.Add(GuestInstructions / seconds / 1e6);
                }

                if (c == contenders[0] && CompileTimeLine().Match(log) is { Success: true } m)
                {
                    compileTimes.Add($"{m.Groups["blocks"].Value} blocks, median {m.Groups["median"].Value} µs, p99 {m.Groups["p99"].Value} µs; "
                        + $"{m.Groups["share"].Value} % of instructions ran in compiled blocks");
                }
            }
        }

        ProgressLine.Clear();
        var table = new MarkdownTable("Guest", "Emulator", "runs", "median MIPS", "range MIPS");
        foreach (Contender c in contenders)
        {
            table.Add("speed", c.Name, c.Mips.Count.ToString(CultureInfo.InvariantCulture), Format(Median(c.Mips)), Range(c.Mips));
        }

        Contender emu = contenders[0];
        foreach (Contender other in contenders.Skip(2))
        {
            if (emu.Mips.Count > 0 && other.Mips.Count > 0)
            {
                table.Add("speed", $"**Emu/{other.Name}**", "", Ratio(Median(emu.Mips), Median(other.Mips)),
                    $"{Ratio(emu.Mips.Min(), other.Mips.Max())}–{Ratio(emu.Mips.Max(), other.Mips.Min())}");
            }
        }

        Console.WriteLine();
        Console.WriteLine(table);
        foreach (string line in compileTimes)
        {
            Console.WriteLine($"Emu tier 2: {line}");
        }

        return emu.Mips.Count == repeat ? 0 : 1;
    }

    /// <summary>One emulator's command line and its rates so far.</summary>
    private sealed record Contender(string Name, string Program, string[] Args)
    {
        public List<double> Mips { get; } = [];
    }

    /// <summary>
    /// Seconds between 'S' and 'E' on the guest's serial output, or null (with the reason printed); the stderr log in
    /// <paramref name="log"/> (complete when <paramref name="waitForLog"/> let the process end by itself).
    /// </summary>
    private static double? Measure(string name, string program, string[] args, bool waitForLog, out string log)
    {
        ProcessStartInfo psi = ChildProcesses.Redirected(program, args);
        var stderr = new StringBuilder();
        ProgressLine.Show($"speed: {name} running 1e9 guest instructions");
        Process p = ChildProcesses.Start(psi);
        try
        {
            p.ErrorDataReceived += (_, e) =>
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            };
            p.BeginErrorReadLine();
            Task<double?> timing = Task.Run(() => TimeBetweenMarkers(p.StandardOutput.BaseStream));
            if (!timing.Wait(RunTimeout))
            {
                Report(name, $"no 'E' within {RunTimeout.TotalSeconds:0} s; killed");
                return null;
            }

            if (waitForLog)
            {
                // The guest exits through isa-debug-exit after 'E': let Emu log its tier statistics on the way out.
                p.WaitForExit(5_000);
            }

            if (timing.Result is not { } seconds)
            {
                Report(name, $"ended (exit {(p.HasExited ? p.ExitCode.ToString(CultureInfo.InvariantCulture) : "?")}) before printing S and E");
                return null;
            }

            return seconds;
        }
        finally
        {
            ChildProcesses.Kill(p);
            p.Dispose();
            lock (stderr)
            {
                log = stderr.ToString();
            }
        }
    }

    private static double? TimeBetweenMarkers(Stream stdout)
    {
        long start = 0;
        int b;
        while ((b = stdout.ReadByte()) >= 0)
        {
            if (b == 'S' && start == 0)
            {
                start = Stopwatch.GetTimestamp();
            }
            else if (b == 'E' && start != 0)
            {
                return Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
        }

        return null;
    }

    private static void Report(string name, string why)
    {
        ProgressLine.Clear();
        Console.WriteLine($"speed: {name} not measured: {why}");
    }

    [GeneratedRegex(@"tier 2 compiled (?<blocks>\d+) blocks.*median (?<median>\d+) µs, p99 (?<p99>\d+) µs; (?<share>[\d.]+) %")]
    private static partial Regex CompileTimeLine();

    private static double Median(List<double> v) => v.Count == 0 ? double.NaN : v.Order().ElementAt(v.Count / 2);

    private static string Format(double mips) => double.IsNaN(mips) ? "-" : mips.ToString("F0", CultureInfo.InvariantCulture);

    private static string Range(List<double> v) => v.Count == 0 ? "-" : $"{Format(v.Min())}–{Format(v.Max())}";

    private static string Ratio(double a, double b) => (a / b).ToString("F2", CultureInfo.InvariantCulture);
}
