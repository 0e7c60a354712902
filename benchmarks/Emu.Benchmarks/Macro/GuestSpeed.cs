using System.Diagnostics;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// Guest MIPS on the <c>speed</c> guest: it prints 'S', runs exactly 1,000,000,000 instructions, prints 'E'.
/// The time between the two bytes on the serial line gives the rate; the same guest under QEMU's TCG in the
/// same run gives the ratio.
/// </summary>
internal static class GuestSpeed
{
    public const double GuestInstructions = 1_000_000_000;

    public static void Run()
    {
        string kernel = RepoPaths.Guest("speed.elf");
        double emu = Measure(RepoPaths.Emu, ["-m", "64M", "-kernel", kernel, "-serial", "stdio", "-display", "none"]);
        Console.WriteLine($"speed guest, Emu:  {GuestInstructions / emu / 1e6,8:F1} MIPS ({emu:F2} s for 1e9 instructions)");
        double? qemu = FindQemu() is { } q
            ? Measure(q, ["-accel", "tcg", "-m", "64M", "-kernel", kernel, "-serial", "stdio", "-display", "none",
                "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-no-reboot"])
            : null;
        if (qemu is { } qs)
        {
            Console.WriteLine($"speed guest, QEMU: {GuestInstructions / qs / 1e6,8:F1} MIPS ({qs:F2} s, qemu-system-i386 -accel tcg)");
            Console.WriteLine($"speed guest, Emu/QEMU ratio: {qs / emu:F3}");
        }
        else
        {
            Console.WriteLine("speed guest, QEMU: not measured (qemu-system-i386 not found; Debian package qemu-system-x86)");
        }
    }

    /// <summary>Seconds between 'S' and 'E' on the guest's serial output.</summary>
    private static double Measure(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"bench: cannot start {program}");
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        Stream stdout = p.StandardOutput.BaseStream;
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
                double s = Stopwatch.GetElapsedTime(start).TotalSeconds;
                p.WaitForExit(10_000);
                return s;
            }
        }

        p.WaitForExit();
        throw new InvalidOperationException($"bench: {Path.GetFileName(program)} ended (exit {p.ExitCode}) before the speed guest printed S and E");
    }

    internal static string? FindQemu() =>
        Environment.GetEnvironmentVariable("PATH")?.Split(':')
            .Select(d => Path.Combine(d, "qemu-system-i386"))
            .FirstOrDefault(File.Exists);
}
