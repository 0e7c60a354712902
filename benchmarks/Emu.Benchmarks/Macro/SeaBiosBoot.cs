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
        if (!File.Exists(Bios))
        {
            throw new MacroBenchmarkException($"seabios-boot: {Bios} is missing (Debian package seabios)");
        }

        string[] common = ["-bios", Bios, "-m", "128M", "-display", "none", "-serial", "none",
            "-chardev", "stdio,id=seabios", "-device", "isa-debugcon,iobase=0x402,chardev=seabios"];
        return new TimeToOutput("seabios-boot", "SeaBIOS 1.16 to its first boot attempt", "a boot attempt", WaitForBootAttempt, Timeout)
            .Compare(TimeToOutput.Repeat(args), common, "QEMU TCG", ["-accel", "tcg", "-monitor", "none", .. common]);
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
