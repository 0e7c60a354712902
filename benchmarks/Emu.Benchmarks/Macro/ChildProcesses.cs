using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// Every emulator process the macro harness starts, with the temp directory it works in, so none outlives the
/// harness: each is killed (with its tree) and its directory removed when its owner disposes it, and whatever
/// is left is cleaned up on normal exit, on Ctrl-C, SIGTERM or SIGQUIT, and on an unhandled exception.
/// </summary>
internal static class ChildProcesses
{
    private static readonly object Gate = new();
    private static readonly Dictionary<Process, string?> Live = [];
    private static readonly List<PosixSignalRegistration> Signals = [];
    private static bool _hooked;
    private static volatile bool _stopping;

    /// <summary>True once a signal asked the harness to end: no more processes start, and results are not printed.</summary>
    public static bool Stopping => _stopping;

    /// <summary>An emulator's command line with stdin, stdout and stderr redirected, ready for <see cref="Start"/>.</summary>
    public static ProcessStartInfo Redirected(string program, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>
    /// Starts <paramref name="psi"/> and tracks the process (and <paramref name="directory"/>, removed with it)
    /// until <see cref="Kill"/>.
    /// </summary>
    public static Process Start(ProcessStartInfo psi, string? directory = null)
    {
        lock (Gate)
        {
            if (_stopping)
            {
                throw new MacroBenchmarkException("bench: interrupted; not starting " + Path.GetFileName(psi.FileName));
            }

            Hook();
            Process p = Process.Start(psi)
                ?? throw new MacroBenchmarkException($"bench: cannot start {psi.FileName}");
            Live.Add(p, directory);
            return p;
        }
    }

    /// <summary>
    /// Kills the process tree (if still running), waits for it, removes its directory, then stops tracking it.
    /// Safe to run twice at once (an owner's dispose racing a signal's clean-up): the process stays tracked until
    /// it is gone, so the signal path never exits while a directory is still being removed.
    /// </summary>
    public static void Kill(Process p)
    {
        string? directory;
        lock (Gate)
        {
            if (!Live.TryGetValue(p, out directory))
            {
                return;
            }
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

        if (directory != null)
        {
            RemoveDirectory(directory);
        }

        lock (Gate)
        {
            Live.Remove(p);
        }
    }

    private static void RemoveDirectory(string directory)
    {
        for (int attempt = 0; attempt < 3 && Directory.Exists(directory); attempt++)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another clean-up removing it at the same time, or a file held by a dying process: retry.
                Thread.Sleep(50);
            }
        }
    }

    private static void KillAll()
    {
        Process[] left;
        lock (Gate)
        {
            left = [.. Live.Keys];
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

        // Ctrl-C, SIGTERM and SIGQUIT: children first, then exit as a shell expects (128 + signal number). The
        // exit is explicit because a harness started in the background inherits SIGINT ignored.
        foreach ((PosixSignal signal, int number) in new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15), (PosixSignal.SIGQUIT, 3) })
        {
            Signals.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                lock (Gate)
                {
                    // Under the lock, so a Start racing with this handler either is refused or is killed below.
                    _stopping = true;
                }

                ProgressLine.Clear();
                KillAll();
                Console.Error.WriteLine($"bench: interrupted by {context.Signal}; emulators stopped");
                Environment.Exit(128 + number);
            }));
        }
    }
}
