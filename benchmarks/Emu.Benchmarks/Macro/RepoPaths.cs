namespace Emu.Benchmarks.Macro;

/// <summary>Where the built emulator and guests are: found by walking up to the directory holding Emu.sln.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Emu => Path.Combine(Root, "out", "emu");

    public static string Guest(string file) => Path.Combine(Root, "out", "guests", file);

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Emu.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("bench: cannot find Emu.sln above " + AppContext.BaseDirectory);
    }
}
