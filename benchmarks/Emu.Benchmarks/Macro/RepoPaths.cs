namespace Emu.Benchmarks.Macro;

/// <summary>
/// Where the built emulator and guests are (found by walking up to the directory holding Emu.sln), and QEMU
/// (<c>qemu-system-i386</c> on PATH, Debian package qemu-system-x86).
/// </summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Emu => Path.Combine(Root, "out", "emu");

    /// <summary><c>qemu-system-i386</c> from PATH; throws when it is not installed.</summary>
    public static string Qemu => FindQemu()
        ?? throw new MacroBenchmarkException("bench: qemu-system-i386 not found on PATH (Debian package qemu-system-x86)");

    public static string Guest(string file) => Path.Combine(Root, "out", "guests", file);

    public static string? FindQemu() => FindOnPath("qemu-system-i386");

    /// <summary>The v86 runner (<c>benchmarks/v86/run-multiboot.mjs</c>) and the npm package directory beside it.</summary>
    public static string V86Directory => Path.Combine(Root, "benchmarks", "v86");

    /// <summary>A program on PATH, or null.</summary>
    public static string? FindOnPath(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

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
