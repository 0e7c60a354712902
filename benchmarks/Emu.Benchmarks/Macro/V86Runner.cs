using System.Diagnostics;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// v86 (npm <c>v86@0.5.462</c>: an x86 emulator that compiles guest code to WebAssembly) run by Node on a multiboot
/// kernel through <c>benchmarks/v86/run-multiboot.mjs</c>, which copies COM1's bytes to stdout. The package is
/// installed into <c>benchmarks/v86/node_modules</c> on first use (<c>npm install</c>, pinned by package.json).
/// </summary>
internal static class V86Runner
{
    /// <summary>The command line that runs <paramref name="kernel"/> under v86, or null with why not in <paramref name="why"/>.</summary>
    public static string[]? CommandLine(string kernel, string memoryMiB, out string why)
    {
        why = "";
        string? node = RepoPaths.FindOnPath("node");
        if (node == null)
        {
            why = "node not found on PATH (v86 runs under Node.js)";
            return null;
        }

        string dir = RepoPaths.V86Directory;
        if (!File.Exists(Path.Combine(dir, "node_modules", "v86", "build", "v86.wasm")) && !Install(dir, out why))
        {
            return null;
        }

        return [node, Path.Combine(dir, "run-multiboot.mjs"), kernel, memoryMiB];
    }

    private static bool Install(string dir, out string why)
    {
        why = "";
        string? npm = RepoPaths.FindOnPath("npm");
        if (npm == null)
        {
            why = "npm not found on PATH (needed once to install v86 into benchmarks/v86)";
            return false;
        }

        ProgressLine.Show("speed: installing v86 (npm install in benchmarks/v86)");
        var psi = new ProcessStartInfo(npm) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("install");
        psi.ArgumentList.Add("--no-audit");
        psi.ArgumentList.Add("--no-fund");
        using Process p = Process.Start(psi) ?? throw new MacroBenchmarkException("bench: cannot start npm");
        string errors = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            why = $"npm install in benchmarks/v86 failed (exit {p.ExitCode}): {errors.Trim()}";
            return false;
        }

        return true;
    }
}
