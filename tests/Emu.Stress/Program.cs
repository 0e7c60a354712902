namespace Emu.Stress;

/// <summary>Emu's long-running checks, outside <c>./run.sh test</c>: <c>fuzz</c> (the migration stream fuzzer) <c>jit-fuzz</c> (tier 1 against tier 2), <c>soak</c> (the migration ping-pong) and <c>postcopy-cut</c> (blocktime across a link cut).</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        string verb = args.Length >= 1 ? args[0] : "";
        try
        {
            switch (verb)
            {
                case "fuzz":
                    return FuzzCommand.Run(args[1..]);
                case "soak":
                    return SoakCommand.Run(args[1..]);
                case "jit-fuzz":
                    return JitFuzzCommand.Run(args[1..]);
                case "postcopy-cut":
                    return PostcopyCutCommand.Run(args[1..]);
                default:
                    Console.Error.WriteLine($"stress: unknown command '{verb}' (fuzz, jit-fuzz, soak, postcopy-cut)");
                    return 2;
            }
        }
        catch (Exception e) when (e is FileNotFoundException or FormatException)
        {
            Console.Error.WriteLine($"stress: {e.Message}");
            return 1;
        }
    }
}
