using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Emu.EndToEndTests.Display;

/// <summary>A top-level X window as <c>xwininfo -root -tree</c> lists it.</summary>
public readonly record struct XWindow(string Id, string Title, int Width, int Height);

/// <summary>
/// Runs the X client tools of Debian's x11-utils and xdotool against one display (a private Xvfb), and reads
/// the window tree: how the console tests see the SDL window's title and send it keys.
/// </summary>
public static partial class X11Client
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    public static string ToolPath(string tool) => Path.Combine("/usr/bin", tool);

    /// <summary>Runs <c>/usr/bin/TOOL ARGS</c> with DISPLAY=:<paramref name="display"/>; returns stdout, throws on failure.</summary>
    public static string Run(int display, string tool, params string[] args)
    {
        var info = new ProcessStartInfo(ToolPath(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DISPLAY"] = $":{display}";
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(ToolTimeout))
        {
            process.Kill();
            throw new TimeoutException($"x11: {tool} {string.Join(' ', args)} on :{display} still running after {ToolTimeout.TotalSeconds} s");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"x11: {tool} {string.Join(' ', args)} on :{display} exited with {process.ExitCode}: {stderr.Result.Trim()}");
        }

        return stdout.Result;
    }

    /// <summary>The named top-level windows (children of the root), from <c>xwininfo -root -children</c>.</summary>
    public static IReadOnlyList<XWindow> TopLevelWindows(int display)
    {
        var windows = new List<XWindow>();
        foreach (string line in Run(display, "xwininfo", "-root", "-children").Split('\n'))
        {
            // e.g.      0x200008 "Emu — running": ("emu" "emu")  720x400+440+250  +440+250
            Match m = WindowLine().Match(line);
            if (m.Success)
            {
                windows.Add(new XWindow(m.Groups["id"].Value, m.Groups["title"].Value, int.Parse(m.Groups["w"].Value), int.Parse(m.Groups["h"].Value)));
            }
        }

        return windows;
    }

    /// <summary>Waits until a top-level window matches <paramref name="predicate"/>; the message lists what was there.</summary>
    public static XWindow WaitForWindow(int display, Func<XWindow, bool> predicate, TimeSpan timeout, Func<string> diagnostics)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<XWindow> windows = [];
        while (clock.Elapsed < timeout)
        {
            windows = TopLevelWindows(display);
            foreach (XWindow w in windows)
            {
                if (predicate(w))
                {
                    return w;
                }
            }

            Thread.Sleep(100);
        }

        string seen = windows.Count == 0 ? "no named window" : string.Join(", ", windows.Select(w => $"'{w.Title}' {w.Width}x{w.Height}"));
        throw new TimeoutException($"x11: no matching window on :{display} within {timeout.TotalSeconds} s (found {seen})\n{diagnostics()}");
    }

    [GeneratedRegex("""^\s+(?<id>0x[0-9a-f]+) "(?<title>[^"]*)": \(.*\)\s+(?<w>\d+)x(?<h>\d+)[+-]""")]
    private static partial Regex WindowLine();
}
