using System.Globalization;
using System.Text;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// <c>macro seabios-boot</c>: wall time from process start to Debian's SeaBIOS's first boot attempt ("Booting from"
/// on its debug console at 0x402), no disk, under Emu and under QEMU's TCG alternating, <c>--repeat N</c> runs each
/// (default 5): medians, ranges and the ratio.
/// </summary>
internal static class SeaBiosBoot
{
    private const string Bios = "/usr/share/seabios/bios.bin";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static int Run(string[] args)
    {
        int repeat = args.Length >= 2 && args[0] == "--repeat" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        if (!File.Exists(Bios))
        {
            throw new MacroBenchmarkException($"seabios-boot: {Bios} is missing (Debian package seabios)");
        }

        string[] common = ["-bios", Bios, "-m", "128M", "-display", "none", "-serial", "none",
            "-chardev", "stdio,id=seabios", "-device", "isa-debugcon,iobase=0x402,chardev=seabios"];
        string? qemu = RepoPaths.FindQemu();
        var emuTimes = new List<double>();
        var qemuTimes = new List<double>();
        for (int i = 0; i < repeat; i++)
        {
            if (LinuxBoot.TimeToOutput("seabios-boot", $"Emu {i + 1}/{repeat}", RepoPaths.Emu, common, WaitForBootAttempt, "a boot attempt", Timeout) is { } e)
            {
                emuTimes.Add(e);
            }

            if (qemu != null && LinuxBoot.TimeToOutput("seabios-boot", $"QEMU {i + 1}/{repeat}", qemu, ["-accel", "tcg", "-monitor", "none", .. common], WaitForBootAttempt, "a boot attempt", Timeout) is { } q)
            {
                qemuTimes.Add(q);
            }
        }

        ProgressLine.Clear();
        var table = new MarkdownTable("SeaBIOS 1.16 to its first boot attempt", "runs", "median s", "range s");
        table.Add("Emu", emuTimes.Count.ToString(CultureInfo.InvariantCulture), LinuxBoot.Median(emuTimes), LinuxBoot.Range(emuTimes));
        if (qemu != null)
        {
            table.Add("QEMU TCG", qemuTimes.Count.ToString(CultureInfo.InvariantCulture), LinuxBoot.Median(qemuTimes), LinuxBoot.Range(qemuTimes));
            if (emuTimes.Count > 0 && qemuTimes.Count > 0)
            {
                table.Add("**Emu/QEMU**", "", LinuxBoot.Ratio(emuTimes.Order().ElementAt(emuTimes.Count / 2), qemuTimes.Order().ElementAt(qemuTimes.Count / 2)),
                    $"{LinuxBoot.Ratio(emuTimes.Min(), qemuTimes.Max())}–{LinuxBoot.Ratio(emuTimes.Max(), qemuTimes.Min())}");
            }
        }
        else
        {
            Console.WriteLine("seabios-boot: QEMU not measured (qemu-system-i386 not found; Debian package qemu-system-x86)");
        }

        Console.WriteLine();
        Console.WriteLine(table);
        return emuTimes.Count == repeat ? 0 : 1;
    }

    private static bool WaitForBootAttempt(Stream log)
    {
        const string attempt = "Booting from ";
        var seen = new StringBuilder();
        int b;
        while ((b = log.ReadByte()) >= 0)
        {
            seen.Append((char)b);
            if (b == ' ' && seen.ToString().EndsWith(attempt, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
