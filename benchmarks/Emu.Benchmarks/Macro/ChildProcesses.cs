using System.Diagnostics;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// Every emulator process the macro harness starts, so none outlives it: each is killed (with its tree) when
/// its owner disposes it, and whatever is left is killed on normal exit, on Ctrl-C or SIGTERM, and on an
/// unhandled exception.
/// </summary>
internal static class ChildProcesses
{
    private static readonly object Gate = new();
    private static readonly HashSet<Process> Live = [];
    private static bool _hooked;

    /// <summary>Starts <paramref name="psi"/> and tracks the process until <see cref="Kill"/>.</summary>
    public static Process Start(ProcessStartInfo psi)
    {
        lock (Gate)
        {
            Hook();
            Process p = Process.Start(psi)
                ?? throw new MacroBenchmarkException($"bench: cannot start {psi.FileName}");
            Live.Add(p);
            return p;
        }
    }

    /// <summary>Kills the process tree (if still running), waits for it, and stops tracking it.</summary>
    public static void Kill(Process p)
    {
        lock (Gate)
        {
            Live.Remove(p);
        }

        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }

            p.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped: nothing left to kill.
        }
    }

    private static void KillAll()
    {
        Process[] left;
        lock (Gate)
        {
            left = [.. Live];
        }

        foreach (Process p in left)
        {
            Kill(p);
        }
    }

    private static void Hook()
    {
        if (_hooked)
        {
            return;
        }

        _hooked = true;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        AppDomain.CurrentDomain.UnhandledException += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) =>
        {
            ProgressLine.Clear();
            KillAll();
        };
    }
}
