using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// <c>macro linux-boot</c>: wall time from process start to the busybox shell's first prompt on the serial line,
/// for Emu's Linux guest (<c>out/guests/linux</c>: bzImage, initrd.gz) under Emu and under QEMU's TCG
/// (<c>-cpu pentium2</c>), the two alternating, <c>--repeat N</c> runs each (default 5): medians, ranges, ratio.
/// </summary>
internal static class LinuxBoot
{
    private const string ShellBanner = "Enter 'help' for a list of built-in commands.";
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);

    public static int Run(string[] args)
    {
        int repeat = args.Length >= 2 && args[0] == "--repeat" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        string kernel = RepoPaths.Guest(Path.Combine("linux", "bzImage"));
        string initrd = RepoPaths.Guest(Path.Combine("linux", "initrd.gz"));
        if (!File.Exists(kernel) || !File.Exists(initrd))
        {
            throw new MacroBenchmarkException($"linux-boot: {kernel} or {initrd} is missing; run ./run.sh build");
        }

        string[] common = ["-m", "128M", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0", "-serial", "stdio", "-display", "none", "-no-reboot"];
        string? qemu = RepoPaths.FindQemu();
        var emuTimes = new List<double>();
        var qemuTimes = new List<double>();
        for (int i = 0; i < repeat; i++)
        {
            if (Measure($"Emu {i + 1}/{repeat}", RepoPaths.Emu, common) is { } e)
            {
                emuTimes.Add(e);
            }

            if (qemu != null && Measure($"QEMU {i + 1}/{repeat}", qemu, ["-accel", "tcg", "-cpu", "pentium2", "-monitor", "none", .. common]) is { } q)
            {
                qemuTimes.Add(q);
            }
        }

        ProgressLine.Clear();
        var table = new MarkdownTable("Linux 6.1 to the shell prompt", "runs", "median s", "range s");
        table.Add("Emu", emuTimes.Count.ToString(CultureInfo.InvariantCulture), Median(emuTimes), Range(emuTimes));
        if (qemu == null)
        {
            Console.WriteLine("linux-boot: QEMU not measured (qemu-system-i386 not found; Debian package qemu-system-x86)");
        }
        else
        {
            table.Add("QEMU TCG (-cpu pentium2)", qemuTimes.Count.ToString(CultureInfo.InvariantCulture), Median(qemuTimes), Range(qemuTimes));
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

    /// <summary>Seconds from start to the shell's banner and then its prompt ("# ") on stdout, or null with the reason printed.</summary>
    private static double? Measure(string name, string program, string[] args) =>
        TimeToOutput("linux-boot", name, program, args, WaitForPrompt, "the shell prompt", BootTimeout);

    /// <summary>
    /// Seconds from process start until <paramref name="reached"/> returns true reading its stdout, or null with the
    /// reason printed (<paramref name="what"/> names the goal); the process is killed either way.
    /// </summary>
    internal static double? TimeToOutput(string bench, string name, string program, string[] args, Func<Stream, bool> reached, string what, TimeSpan timeout)
    {
        ProcessStartInfo psi = ChildProcesses.Redirected(program, args);

        ProgressLine.Show($"{bench}: {name} booting");
        long start = Stopwatch.GetTimestamp();
        Process p = ChildProcesses.Start(psi);
        try
        {
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            Task<bool> prompt = Task.Run(() => reached(p.StandardOutput.BaseStream));
            if (!prompt.Wait(timeout) || !prompt.Result)
            {
                ProgressLine.Clear();
                Console.WriteLine($"{bench}: {name} did not reach {what} within {timeout.TotalSeconds:0} s");
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

    private static bool WaitForPrompt(Stream stdout)
    {
        var seen = new StringBuilder();
        bool banner = false;
        int b;
        while ((b = stdout.ReadByte()) >= 0)
        {
            seen.Append((char)b);
            if (!banner && b == '.' && seen.ToString().EndsWith(ShellBanner, StringComparison.Ordinal))
            {
                banner = true;
                seen.Clear();
            }
            else if (banner && b == ' ' && seen.ToString().EndsWith("# ", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    internal static string Median(List<double> v) =>
        v.Count == 0 ? "-" : v.Order().ElementAt(v.Count / 2).ToString("F2", CultureInfo.InvariantCulture);

    internal static string Range(List<double> v) =>
        v.Count == 0 ? "-" : $"{v.Min().ToString("F2", CultureInfo.InvariantCulture)}–{v.Max().ToString("F2", CultureInfo.InvariantCulture)}";

    internal static string Ratio(double a, double b) => (a / b).ToString("F2", CultureInfo.InvariantCulture);
}
