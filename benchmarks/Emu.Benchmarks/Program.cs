using BenchmarkDotNet.Running;
using Emu.Benchmarks.Macro;

namespace Emu.Benchmarks;

internal static class Program
{
    /// <summary>
    /// <c>macro speed</c> runs the speed guest under Emu and QEMU; anything else goes to BenchmarkDotNet
    /// (e.g. <c>--filter *DirtyLog*</c>).
    /// </summary>
    private static void Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "macro")
        {
            switch (args[1])
            {
                case "speed":
                    GuestSpeed.Run();
                    return;
                default:
                    Console.Error.WriteLine($"bench: unknown macro benchmark '{args[1]}' (speed)");
                    Environment.Exit(2);
                    return;
            }
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
