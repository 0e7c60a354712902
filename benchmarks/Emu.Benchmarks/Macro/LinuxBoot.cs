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
        string kernel = RepoPaths.Guest(Path.Combine("linux", "bzImage"));
        string initrd = RepoPaths.Guest(Path.Combine("linux", "initrd.gz"));
        if (!File.Exists(kernel) || !File.Exists(initrd))
        {
            throw new MacroBenchmarkException($"linux-boot: {kernel} or {initrd} is missing; run ./run.sh build");
        }

        string[] common = ["-m", "128M", "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0", "-serial", "stdio", "-display", "none", "-no-reboot"];
        return new TimeToOutput("linux-boot", "Linux 6.1 to the shell prompt", "the shell prompt", WaitForPrompt, BootTimeout)
            .Compare(TimeToOutput.Repeat(args), common, "QEMU TCG (-cpu pentium2)", ["-accel", "tcg", "-cpu", "pentium2", "-monitor", "none", .. common]);
    }

    /// <summary>True once the shell's banner and then its prompt ("# ") have come out on stdout.</summary>
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
}
