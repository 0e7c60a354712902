using System.Diagnostics;

namespace Emu;

/// <summary>
/// QEMU's <c>-daemonize</c>: the emu the user started runs itself again in a new session with stdio on /dev/null
/// and returns once that one is up (exit 0) or has refused to start (its one line, exit 1). .NET cannot fork, so
/// the child is a fresh process with the same arguments; it reports through a status file named in its
/// environment (<see cref="StatusVariable"/>): "ok" once it runs, or its error line.
/// </summary>
internal static class Daemon
{
    public const string StatusVariable = "EMU_DAEMON_STATUS";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>In the child: the status file to report to, or null when this process is not a daemon's child.</summary>
    public static string? StatusFile => Environment.GetEnvironmentVariable(StatusVariable);

    /// <summary>In the parent: starts the daemon and waits for its report; returns the exit code.</summary>
    public static int Spawn(string[] args)
    {
        string status = Path.Combine(Path.GetTempPath(), $"emu-daemon-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec setsid \"$0\" \"$@\" </dev/null >/dev/null 2>&1");
        psi.ArgumentList.Add(Environment.ProcessPath ?? "emu");
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment[StatusVariable] = status;
        using Process child = Process.Start(psi) ?? throw new StartupException("emu: -daemonize: cannot start the daemon process");
        var wait = Stopwatch.StartNew();
        try
        {
            while (wait.Elapsed < StartTimeout)
            {
                if (File.Exists(status) && File.ReadAllText(status) is { Length: > 0 } report && report.EndsWith('\n'))
                {
                    if (report == "ok\n")
                    {
                        return 0;
                    }

                    Console.Error.Write(report);
                    return 1;
                }

                if (child.HasExited)
                {
                    Console.Error.WriteLine($"emu: -daemonize: the daemon ended at start (exit code {child.ExitCode})");
                    return 1;
                }

                Thread.Sleep(20);
            }

            Console.Error.WriteLine($"emu: -daemonize: the daemon did not report within {StartTimeout.TotalSeconds:0} s");
            return 1;
        }
        finally
        {
            File.Delete(status);
        }
    }

    /// <summary>In the child: tells the waiting parent how the start went (one line).</summary>
    public static void Report(string line)
    {
        if (StatusFile is { } path)
        {
            string temp = path + ".tmp";
            File.WriteAllText(temp, line + "\n");
            File.Move(temp, path, overwrite: true);
        }
    }
}
