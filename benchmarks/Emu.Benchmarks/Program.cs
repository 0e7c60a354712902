using BenchmarkDotNet.Running;
using Emu.Benchmarks.Macro;

namespace Emu.Benchmarks;

internal static class Program
{
    /// <summary>
    /// <c>macro speed</c> runs the speed guest under Emu and QEMU; <c>macro migrate [--postcopy]</c> migrates
    /// guests between two Emu and two QEMU processes; <c>macro linux-boot</c> times Linux to its shell
    /// prompt under both; <c>macro code-churn</c> samples Emu's memory under a guest that rewrites hot code forever;
    /// anything else goes to BenchmarkDotNet
    /// (e.g. <c>--filter *DirtyLog*</c>).
    /// </summary>
    private static int Main(string[] args)
    {
        if (args.Length >= 1 && args[0] == "macro")
        {
            string which = args.Length >= 2 ? args[1] : "";
            try
            {
                switch (which)
                {
                    case "speed":
                        return GuestSpeed.Run(args[2..]);
                    case "migrate":
                        return MigrationBenchmark.Run(args[2..]);
                    case "linux-boot":
                        return LinuxBoot.Run(args[2..]);
                    case "seabios-boot":
                        return SeaBiosBoot.Run(args[2..]);
                    case "code-churn":
                        return CodeChurn.Run(args[2..]);
                    default:
                        Console.Error.WriteLine($"bench: unknown macro benchmark '{which}' (speed, migrate, linux-boot, seabios-boot, code-churn)");
                        return 2;
                }
            }
            catch (MacroBenchmarkException e)
            {
                ProgressLine.Clear();
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
