using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Emu.UnitTests.Display;

/// <summary>
/// A private Xvfb for a test: started on a free display number, pointed at by the native DISPLAY variable (SDL
/// reads the C environment, which Environment.SetEnvironmentVariable does not change), killed on dispose.
/// </summary>
public sealed partial class XvfbServer : IDisposable
{
    private readonly Process _process;

    private XvfbServer(Process process, int display)
    {
        _process = process;
        Display = display;
    }

    public int Display { get; }

    public static XvfbServer Start(int width = 1024, int height = 768)
    {
        for (int display = 90 + (Environment.ProcessId % 50); display < 400; display++)
        {
            if (!ClaimIfFree(display))
            {
                continue;
            }

            var psi = new ProcessStartInfo(XvfbFactAttribute.XvfbPath, $":{display} -screen 0 {width}x{height}x24 -nolisten tcp")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            var process = Process.Start(psi)!;
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                if (File.Exists($"/tmp/.X11-unix/X{display}"))
                {
                    return new XvfbServer(process, display);
                }

                Thread.Sleep(50);
            }

            if (!process.HasExited)
            {
                process.Kill();
            }
        }

        throw new InvalidOperationException("xvfb: no display number from 90 to 400 could be started");
    }

    /// <summary>Points this process's C environment (what libX11 reads) at a display.</summary>
    public static void SetNativeDisplay(string value)
    {
        if (SetEnv("DISPLAY", value, 1) != 0)
        {
            throw new InvalidOperationException("xvfb: setenv(DISPLAY) failed");
        }

        Environment.SetEnvironmentVariable("DISPLAY", value);
    }

    /// <summary>The whole screen as <c>xwd -root</c> dumps it.</summary>
    public byte[] CaptureRoot()
    {
        var psi = new ProcessStartInfo(XvfbFactAttribute.XwdPath, $"-root -silent -display :{Display}")
        {
            RedirectStandardOutput = true,
        };
        using var xwd = Process.Start(psi)!;
        using var ms = new MemoryStream();
        xwd.StandardOutput.BaseStream.CopyTo(ms);
        xwd.WaitForExit();
        if (xwd.ExitCode != 0)
        {
            throw new InvalidOperationException($"xwd: exit code {xwd.ExitCode} on display :{Display}");
        }

        return ms.ToArray();
    }

    /// <summary>
    /// Ends the server with SIGTERM, on which Xvfb removes its lock file and socket (a SIGKILL leaves both, and
    /// repeated test runs then use up the display numbers); SIGKILL only if it does not end.
    /// </summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _ = SendSignal(_process.Id, SigTerm);
            if (!_process.WaitForExit(5000))
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }

        _process.Dispose();
    }

    /// <summary>
    /// True if display <paramref name="display"/> is free: no lock file, or one left by a server that no longer runs
    /// (then it and the socket are removed, as Xvfb itself would).
    /// </summary>
    private static bool ClaimIfFree(int display)
    {
        string lockFile = $"/tmp/.X{display}-lock";
        string socket = $"/tmp/.X11-unix/X{display}";
        if (File.Exists(lockFile))
        {
            string text;
            try
            {
                text = File.ReadAllText(lockFile).Trim();
            }
            catch (IOException)
            {
                return false;
            }

            if (!int.TryParse(text, out int pid) || Directory.Exists($"/proc/{pid}"))
            {
                return false;
            }

            try
            {
                File.Delete(lockFile);
                File.Delete(socket);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        return !File.Exists(socket);
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
