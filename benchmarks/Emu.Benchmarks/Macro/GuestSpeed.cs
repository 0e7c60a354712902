using System.Diagnostics;
using System.Globalization;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// <c>macro speed</c>: guest MIPS on the <c>speed</c> guest, which prints 'S', runs exactly 1,000,000,000
/// instructions, prints 'E'. The time between the two bytes on the serial line gives the rate; the same guest
/// under QEMU's TCG in the same run gives the ratio. One run each.
/// </summary>
internal static class GuestSpeed
{
    public const double GuestInstructions = 1_000_000_000;

    /// <summary>Far above any plausible run (1e9 instructions at under 6 MIPS), so only a hang hits it.</summary>
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    public static int Run()
    {
        string kernel = RepoPaths.Guest("speed.elf");
        var table = new MarkdownTable("Guest", "Emulator", "MIPS", "Seconds for 1e9 instructions");
        double? emu = Measure("Emu", RepoPaths.Emu, ["-m", "64M", "-kernel", kernel, "-serial", "stdio", "-display", "none"]);
        table.Add("speed", "Emu", Mips(emu), Seconds(emu));
        double? qemu = null;
        if (RepoPaths.FindQemu() is { } q)
        {
            qemu = Measure("QEMU", q, ["-accel", "tcg", "-m", "64M", "-kernel", kernel, "-serial", "stdio", "-display", "none",
                "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-no-reboot"]);
            table.Add("speed", "QEMU TCG", Mips(qemu), Seconds(qemu));
        }
        else
        {
            Console.WriteLine("speed: QEMU not measured (qemu-system-i386 not found; Debian package qemu-system-x86)");
        }

        if (emu is { } e && qemu is { } qs)
        {
            table.Add("speed", "**Emu/QEMU**", (qs / e).ToString("F3", CultureInfo.InvariantCulture), "");
        }

        Console.WriteLine();
        Console.WriteLine(table);
        return emu == null ? 1 : 0;
    }

    /// <summary>Seconds between 'S' and 'E' on the guest's serial output, or null (with the reason printed).</summary>
    private static double? Measure(string name, string program, string[] args)
    {
        ProcessStartInfo psi = ChildProcesses.Redirected(program, args);

        ProgressLine.Show($"speed: {name} running 1e9 guest instructions");
        Process p = ChildProcesses.Start(psi);
        try
        {
            p.ErrorDataReceived += (_, _) => { };
            p.BeginErrorReadLine();
            Task<double?> timing = Task.Run(() => TimeBetweenMarkers(p.StandardOutput.BaseStream));
            if (!timing.Wait(RunTimeout))
            {
                Report(name, $"no 'E' within {RunTimeout.TotalSeconds:0} s; killed");
                return null;
            }

            if (timing.Result is not { } seconds)
            {
                p.WaitForExit(5_000);
                Report(name, $"ended (exit {(p.HasExited ? p.ExitCode.ToString(CultureInfo.InvariantCulture) : "?")}) before printing S and E");
                return null;
            }

            return seconds;
        }
        finally
        {
            ChildProcesses.Kill(p);
            p.Dispose();
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

    private static string Mips(double? seconds) =>
        seconds is { } s ? (GuestInstructions / s / 1e6).ToString("F1", CultureInfo.InvariantCulture) : "-";

    private static string Seconds(double? seconds) =>
        seconds is { } s ? s.ToString("F2", CultureInfo.InvariantCulture) : "-";
}
