using System.Diagnostics;
using System.Text;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// One <c>out/emu</c> process for an end-to-end test: a private temp directory for its sockets and logs,
/// captured stdout and stderr, waits on the serial log with timeouts whose messages carry the serial and
/// stderr tails, and the whole process tree killed on dispose. Set EMU_E2E_KEEP=1 to keep the directories and
/// EMU_E2E_LOG=1 to give every process without one a <c>--log-file</c> there.
/// </summary>
public sealed class EmuProcess : IDisposable
{
    internal const int TailLines = 25;

    private static readonly Lazy<string> Root = new(FindRepoRoot);

    private readonly object _outputLock = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private Process? _process;

    /// <summary>Makes the process's temp directory; <see cref="Start"/> launches it.</summary>
    public EmuProcess(string name = "emu")
    {
        Name = name;
        // Unix socket paths are limited to 107 bytes, so stay short even when TMPDIR is long.
        string temp = Path.GetTempPath().Length <= 60 ? Path.GetTempPath() : "/tmp";
        Directory = Path.Combine(temp, $"emu-e2e-{name}-{Guid.NewGuid().ToString("N")[..8]}");
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The repository root (the directory holding Emu.sln).</summary>
    public static string RepoRoot => Root.Value;

    /// <summary><c>out/emu</c>; throws when it has not been built.</summary>
    public static string EmuPath
    {
        get
        {
            string path = Path.Combine(RepoRoot, "out", "emu");
            return File.Exists(path) ? path : throw new InvalidOperationException($"e2e: {path} does not exist; run ./run.sh build first");
        }
    }

    public string Name { get; }

    /// <summary>This process's private directory (sockets, serial log, snapshots, pmemsave files).</summary>
    public string Directory { get; }

    public string SerialPath => Path.Combine(Directory, "serial.log");

    public string QmpSocketPath => Path.Combine(Directory, "qmp.sock");

    /// <summary>The <c>-qmp</c> value for <see cref="QmpSocketPath"/>.</summary>
    public string QmpSpec => $"unix:{QmpSocketPath},server,wait=off";

    /// <summary>
    /// Environment changes applied by <see cref="Start"/> on top of this process's environment: a value sets the
    /// variable, null removes it (e.g. DISPLAY for a private Xvfb, without touching parallel tests).
    /// </summary>
    public Dictionary<string, string?> EnvironmentOverrides { get; } = [];

    public bool HasExited => _process?.HasExited ?? false;

    /// <summary>The host process id.</summary>
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException($"e2e: {Name} was never started");

    /// <summary>The exit code once the process has ended, else null.</summary>
    public int? ExitCode => _process is { HasExited: true } p ? p.ExitCode : null;

    public string StandardOutput
    {
        get
        {
            lock (_outputLock)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_outputLock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The serial log as written so far ("" before the guest wrote anything).</summary>
    public string Serial
    {
        get
        {
            try
            {
                using var stream = new FileStream(SerialPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, Encoding.Latin1);
                return reader.ReadToEnd();
            }
            catch (FileNotFoundException)
            {
                return "";
            }
        }
    }

    /// <summary><c>out/guests/NAME.elf</c> (or <c>.img</c>); throws when it has not been built.</summary>
    public static string GuestPath(string name)
    {
        foreach (string ext in new[] { ".elf", ".img" })
        {
            string path = Path.Combine(RepoRoot, "out", "guests", name + ext);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException($"e2e: guest '{name}' is not in {Path.Combine(RepoRoot, "out", "guests")}; run ./run.sh build first");
    }

    /// <summary>
    /// Starts <c>out/emu -kernel out/guests/GUEST.elf -serial file:SERIAL -display none -qmp unix:SOCK,server,wait=off</c>
    /// followed by <paramref name="extraArgs"/> (e.g. <c>-m 256M</c>, <c>-incoming …</c>).
    /// </summary>
    public static EmuProcess StartGuest(string guest, string name = "emu", params string[] extraArgs)
    {
        var emu = new EmuProcess(name);
        try
        {
            emu.Start(["-kernel", GuestPath(guest), "-serial", $"file:{emu.SerialPath}", "-display", "none", "-qmp", emu.QmpSpec, .. extraArgs]);
            return emu;
        }
        catch
        {
            emu.Dispose();
            throw;
        }
    }

    /// <summary>The program started: <c>out/emu</c>, or another emulator run beside it (QEMU) with the same harness.</summary>
    public string Program { get; init; } = EmuPath;

    /// <summary>Debian's qemu-system-i386 when it is installed, else null (tests that compare with it skip).</summary>
    public static string? QemuPath => new[] { "/usr/bin/qemu-system-i386", "/usr/local/bin/qemu-system-i386" }.FirstOrDefault(File.Exists);

    /// <summary>Starts <c>out/emu ARGS</c> in <see cref="Directory"/>, capturing stdout and stderr.</summary>
    public void Start(params string[] args)
    {
        if (_process != null)
        {
            throw new InvalidOperationException($"e2e: {Name} is already started");
        }

        var info = new ProcessStartInfo(Program)
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string variable, string? value) in EnvironmentOverrides)
        {
            if (value == null)
            {
                info.Environment.Remove(variable);
            }
            else
            {
                info.Environment[variable] = value;
            }
        }

        if (Program == EmuPath && Environment.GetEnvironmentVariable("EMU_E2E_LOG") == "1" && !info.ArgumentList.Contains("--log-file"))
        {
            // Debugging aid: a full log per process, in its directory (keep it with EMU_E2E_KEEP=1).
            info.ArgumentList.Add("--log-file");
            info.ArgumentList.Add(Path.Combine(Directory, "emu.log"));
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    /// <summary>Connects a negotiated QMP client to <see cref="QmpSocketPath"/> (waiting for the socket to appear).</summary>
    public QmpClient ConnectQmp(TimeSpan? timeout = null) =>
        QmpClient.ConnectUnix(QmpSocketPath, timeout ?? TimeSpan.FromSeconds(20), Diagnostics, () => !HasExited);

    /// <summary>Waits until the serial log contains <paramref name="text"/>; returns the log.</summary>
    public string WaitForSerial(string text, TimeSpan timeout) => WaitForSerial(text, 1, timeout);

    /// <summary>Waits until the serial log contains <paramref name="text"/> at least <paramref name="count"/> times.</summary>
    public string WaitForSerial(string text, int count, TimeSpan timeout) =>
        WaitForText(() => Serial, "serial", text, count, timeout);

    /// <summary>
    /// Waits until the serial log's complete lines contain <paramref name="text"/> <paramref name="count"/> times;
    /// returns those lines. The guest's bytes reach the file as it sends them, so a line can be caught half-written.
    /// </summary>
    public string WaitForSerialLines(string text, int count, TimeSpan timeout) =>
        WaitForText(
            () =>
            {
                string serial = Serial;
                return serial[..(serial.LastIndexOf('\n') + 1)];
            },
            "serial",
            text,
            count,
            timeout);

    /// <summary>Types <paramref name="text"/> into the process's stdin (the guest's COM1 with <c>-serial stdio</c>).</summary>
    public void TypeOnStdin(string text)
    {
        Process process = _process ?? throw new InvalidOperationException($"e2e: {Name} was never started");
        process.StandardInput.Write(text);
        process.StandardInput.Flush();
    }

    /// <summary>Waits until stdout contains <paramref name="text"/> at least <paramref name="count"/> times.</summary>
    public string WaitForStdout(string text, int count, TimeSpan timeout) =>
        WaitForText(() => StandardOutput, "stdout", text, count, timeout);

    /// <summary>Waits until stdout (e.g. <c>-serial stdio</c>) contains <paramref name="text"/>.</summary>
    public string WaitForStdout(string text, TimeSpan timeout) =>
        WaitForText(() => StandardOutput, "stdout", text, 1, timeout);

    /// <summary>
    /// CPU time (user + system) the process's thread named <paramref name="threadName"/> has used so far, from
    /// Linux's /proc/PID/task/TID/stat (clock ticks of 10 ms). For the vCPU thread ("vcpu/0"): a throttle bounds
    /// its share of wall time whatever else the host runs.
    /// </summary>
    public TimeSpan ThreadCpuTime(string threadName)
    {
        Process process = _process ?? throw new InvalidOperationException($"e2e: {Name} was never started");
        foreach (string task in System.IO.Directory.GetDirectories($"/proc/{process.Id}/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') != threadName)
            {
                continue;
            }

            // Fields after "(comm)": state is field 3, utime 14 and stime 15 (proc(5)).
            string stat = File.ReadAllText(Path.Combine(task, "stat"));
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
            return TimeSpan.FromMilliseconds(ticks * 10);
        }

        throw new InvalidOperationException($"e2e: {Name} has no thread named '{threadName}'");
    }

    /// <summary>Waits for the process to end; returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        Process process = _process ?? throw new InvalidOperationException($"e2e: {Name} was never started");
        if (!process.WaitForExit(timeout))
        {
            throw new TimeoutException($"e2e: {Name} still running after {timeout.TotalSeconds:0.#} s{Diagnostics()}");
        }

        // The parameterless wait also drains the redirected output.
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>Sends <paramref name="signal"/> (<c>TERM</c>, <c>INT</c>, <c>HUP</c>) to the process, as <c>kill -s</c> does.</summary>
    public void SendSignal(string signal)
    {
        Process process = _process ?? throw new InvalidOperationException($"e2e: {Name} was never started");
        // The shell's kill builtin: a minimal system may lack the procps kill binary.
        using Process kill = Process.Start("sh", ["-c", $"kill -s {signal} {process.Id}"]);
        kill.WaitForExit();
        Assert.True(kill.ExitCode == 0, $"e2e: kill -s {signal} {process.Id} failed with {kill.ExitCode}");
    }

    /// <summary>Kills the process tree now (a destination dying mid-migration) and waits for it to end.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
    }

    /// <summary>The last lines of serial output and stderr, and the exit code: for failure messages.</summary>
    public string Diagnostics()
    {
        var sb = new StringBuilder();
        sb.Append($"--- {Name}: ").Append(ExitCode is int code ? $"exited with code {code}" : "running").AppendLine();
        sb.AppendLine($"--- {Name} serial tail:").AppendLine(Tail(Serial));
        sb.AppendLine($"--- {Name} stderr tail:").Append(Tail(StandardError));
        return sb.ToString();
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        if (Environment.GetEnvironmentVariable("EMU_E2E_KEEP") != "1")
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a dying child; the temp directory is cleaned by the OS eventually.
            }
        }
    }

    private string WaitForText(Func<string> source, string what, string text, int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string content = source();
            if (CountOf(content, text) >= count)
            {
                return content;
            }

            if (HasExited)
            {
                // One last read: the process may have written its final bytes just before it ended.
                content = source();
                if (CountOf(content, text) >= count)
                {
                    return content;
                }

                throw new InvalidOperationException($"e2e: {Name} ended before its {what} showed '{text}' ×{count}\n{Diagnostics()}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"e2e: {Name}'s {what} did not show '{text}' ×{count} within {timeout.TotalSeconds:0.#} s (found {CountOf(content, text)})\n{Diagnostics()}");
            }

            Thread.Sleep(20);
        }
    }

    private static int CountOf(string content, string text)
    {
        int n = 0;
        for (int i = content.IndexOf(text, StringComparison.Ordinal); i >= 0; i = content.IndexOf(text, i + text.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static string Tail(string text)
    {
        string[] lines = text.Split('\n');
        return string.Join('\n', lines[Math.Max(0, lines.Length - TailLines)..]).TrimEnd();
    }

    private void Append(StringBuilder sb, string? line)
    {
        if (line == null)
        {
            return;
        }

        lock (_outputLock)
        {
            sb.AppendLine(line);
        }
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Emu.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"e2e: no Emu.sln above {AppContext.BaseDirectory}");
    }
}
