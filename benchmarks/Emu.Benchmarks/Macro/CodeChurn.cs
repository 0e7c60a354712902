using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Emu.Machine.Diagnostics;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// <c>macro code-churn [--seconds N]</c>: tier 2's bounded code cache under a guest that rewrites hot code forever
/// (<c>smcloop</c>: a function compiled, then patched, every round). Emu with tier 2 and with tier 2 off each run N
/// seconds (default 60) while the resident set (VmRSS) is sampled every second; the table gives each one's RSS at the
/// first sample, its range, and the mean of the first and last quarter of the run (flat memory: the two agree), and
/// tier 2's log says how many blocks it compiled and dropped.
/// </summary>
internal static partial class CodeChurn
{
    public static int Run(string[] args)
    {
        int seconds = args.Length >= 2 && args[0] == "--seconds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        string[] emuArgs = ["-m", "64M", "-kernel", RepoPaths.Guest("smcloop.elf"), "-serial", "stdio", "-display", "none", "-d", "information"];
        var table = new MarkdownTable("Emulator", "samples", "first MiB", "range MiB", "first quarter mean MiB", "last quarter mean MiB", "rounds");
        var notes = new List<string>();
        int failed = 0;
        foreach ((string name, string[] extra) in new[] { ("Emu (tier 2)", Array.Empty<string>()), ("Emu (tier 1 only)", ["-accel", "tcg,jit=off"]) })
        {
            if (Sample(name, [.. emuArgs, .. extra], seconds, out string log, out int rounds) is not { Count: > 4 } rss)
            {
                failed++;
                continue;
            }

            int quarter = rss.Count / 4;
            table.Add(name, rss.Count.ToString(CultureInfo.InvariantCulture), Mib(rss[0]), $"{Mib(rss.Min())}–{Mib(rss.Max())}",
                Mib(rss.Take(quarter).Average()), Mib(rss.TakeLast(quarter).Average()), rounds.ToString(CultureInfo.InvariantCulture));
            if (TierLine().Match(log) is { Success: true } m)
            {
                notes.Add($"{name}: {m.Value}");
            }
        }

        ProgressLine.Clear();
        Console.WriteLine();
        Console.WriteLine(table);
        foreach (string note in notes)
        {
            Console.WriteLine(note);
        }

        return failed == 0 ? 0 : 1;
    }

    /// <summary>VmRSS in bytes once a second for <paramref name="seconds"/>; null (reason printed) when the guest failed.</summary>
    private static List<double>? Sample(string name, string[] args, int seconds, out string log, out int rounds)
    {
        Process p = ChildProcesses.Start(ChildProcesses.Redirected(RepoPaths.Emu, args));
        var stderr = new StringBuilder();
        var stdout = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        p.BeginErrorReadLine();
        Task reader = Task.Run(() =>
        {
            int b;
            while ((b = p.StandardOutput.BaseStream.ReadByte()) >= 0)
            {
                lock (stdout)
                {
                    stdout.Append((char)b);
                }
            }
        });
        var rss = new List<double>();
        try
        {
            for (int s = 1; s <= seconds && !p.HasExited; s++)
            {
                ProgressLine.Show($"code-churn: {name} {s}/{seconds} s");
                Thread.Sleep(1000);
                if (ResidentBytes(p.Id) is { } bytes)
                {
                    rss.Add(bytes);
                }
            }

            bool died = p.HasExited;

            // SIGTERM, not a kill: Emu logs tier 2's statistics on the way out.
            using (Process term = Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                term.WaitForExit();
            }

            p.WaitForExit(10_000);
            reader.Wait(5_000);
            string output;
            lock (stdout)
            {
                output = stdout.ToString();
            }

            // "." every 256 rounds (smcloop.asm).
            rounds = output.Count(c => c == '.') * 256;
            if (died || output.Contains("stale", StringComparison.Ordinal))
            {
                ProgressLine.Clear();
                Console.WriteLine($"code-churn: {name} failed: {(died ? "the process ended" : "the guest ran stale code")}");
                rss = null;
            }
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

        return rss;
    }

    // Null when the process ended between the check and the read.
    private static double? ResidentBytes(int pid) => ProcFile.ReadKiB($"/proc/{pid}/status", "VmRSS") * 1024.0;

    private static string Mib(double bytes) => (bytes / (1 << 20)).ToString("F0", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"CPU: \d+ instructions retired, \d+ blocks translated; tier 2 compiled .*")]
    private static partial Regex TierLine();
}
