using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Emu.EndToEndTests.Support;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// One emulator process (Emu or QEMU) booting a <see cref="GuestSpec"/> with its serial line in a file and QMP on
/// a unix socket, both in a private temp directory; killed and its directory removed on dispose (<see cref="ChildProcesses"/>). The same
/// command-line shape for both emulators, so one QMP script drives either.
/// </summary>
internal sealed partial class VmProcess : IDisposable
{
    internal const int TailChars = 1500;

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private VmProcess(EmulatorKind kind, string name, string directory, ProcessStartInfo psi)
    {
        Kind = kind;
        Name = name;
        Directory = directory;
        _process = ChildProcesses.Start(psi, directory);
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null)
            {
                return;
            }

            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
                if (_stderr.Length > 4 * TailChars)
                {
                    _stderr.Remove(0, _stderr.Length - TailChars);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public EmulatorKind Kind { get; }

    public string Name { get; }

    public string Directory { get; }

    public string SerialPath => Path.Combine(Directory, "serial.log");

    public string QmpPath => Path.Combine(Directory, "qmp.sock");

    /// <summary>Emu's Serilog file (<c>--log-file</c>, at <c>-d info</c>); QEMU writes none.</summary>
    public string LogPath => Path.Combine(Directory, "emu.log");

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the emulator: <c>-m SIZE -kernel K [-append A] -serial file:… -display none -qmp unix:…,server,wait=off
    /// [-incoming URI]</c>, plus <c>-accel tcg</c> and isa-debug-exit for QEMU and <c>-d info --log-file</c> for Emu.
    /// </summary>
    public static VmProcess Start(EmulatorKind kind, string name, GuestSpec guest, string? incoming = null)
    {
        // Unix socket paths are limited to 107 bytes, so stay short even when TMPDIR is long.
        string temp = Path.GetTempPath().Length <= 60 ? Path.GetTempPath() : "/tmp";
        string directory = Path.Combine(temp, $"emu-bench-{name}-{Guid.NewGuid().ToString("N")[..8]}");
        System.IO.Directory.CreateDirectory(directory);
        var psi = new ProcessStartInfo(kind == EmulatorKind.Emu ? RepoPaths.Emu : RepoPaths.Qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        List<string> args = ["-m", $"{guest.MemoryMiB}M", "-kernel", guest.KernelPath];
        if (guest.Append != null)
        {
            args.AddRange(["-append", guest.Append]);
        }

        if (guest.InitrdPath != null)
        {
            args.AddRange(["-initrd", guest.InitrdPath]);
        }

        if (kind == EmulatorKind.Qemu && guest.QemuCpu != null)
        {
            args.AddRange(["-cpu", guest.QemuCpu]);
        }

        args.AddRange([
            "-serial", "file:" + Path.Combine(directory, "serial.log"),
            "-display", "none",
            "-qmp", $"unix:{Path.Combine(directory, "qmp.sock")},server,wait=off",
        ]);
        if (kind == EmulatorKind.Qemu)
        {
            args.AddRange(["-accel", "tcg", "-device", "isa-debug-exit,iobase=0x501,iosize=2", "-no-reboot"]);
        }
        else
        {
            args.AddRange(["-d", "info", "--log-file", Path.Combine(directory, "emu.log")]);
        }

        if (incoming != null)
        {
            args.AddRange(["-incoming", incoming]);
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            return new VmProcess(kind, name, directory, psi);
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>Connects to this process's QMP socket (retrying while it starts) and negotiates.</summary>
    public QmpClient ConnectQmp() =>
        QmpClient.ConnectUnix(QmpPath, TimeSpan.FromSeconds(30), Diagnostics, () => !_process.HasExited);

    /// <summary>Waits until the serial output contains <paramref name="text"/>.</summary>
    public void WaitForSerial(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!ReadShared(SerialPath).Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                throw new MacroBenchmarkException($"bench: {Describe()} exited ({_process.ExitCode}) before printing '{text}'{Diagnostics()}");
            }

            if (sw.Elapsed > timeout)
            {
                throw new MacroBenchmarkException($"bench: {Describe()} did not print '{text}' within {timeout.TotalSeconds:0} s{Diagnostics()}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>How many times the guest has printed <paramref name="text"/> so far (the ab guest's passes: "B").</summary>
    public int CountSerial(string text)
    {
        string serial = ReadShared(SerialPath);
        int n = 0;
        for (int i = serial.IndexOf(text, StringComparison.Ordinal); i >= 0; i = serial.IndexOf(text, i + text.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    /// <summary>
    /// Emu's true guest pause (source vCPU stop to destination vCPU start), from the destination's log line
    /// <c>migration: true pause = X ms</c>; waits up to <paramref name="timeout"/> for the log to be flushed.
    /// </summary>
    public double? ReadTruePauseMs(TimeSpan timeout) => ReadFromLog(timeout, log =>
    {
        Match m = TruePauseLine().Match(log);
        return m.Success
            ? double.Parse(m.Groups[1].Value.Replace(',', '.'), System.Globalization.CultureInfo.InvariantCulture)
            : (double?)null;
    });

    /// <summary>Emu's destination postcopy figures (<see cref="PostcopySummary"/>), waiting for the log as above.</summary>
    public PostcopySummary? ReadPostcopySummary(TimeSpan timeout) => ReadFromLog(timeout, PostcopySummary.Parse);

    /// <summary>Polls Emu's log until <paramref name="parse"/> finds its line or <paramref name="timeout"/> passes.</summary>
    private T? ReadFromLog<T>(TimeSpan timeout, Func<string, T?> parse)
    {
        var sw = Stopwatch.StartNew();
        do
        {
            if (parse(ReadShared(LogPath)) is { } found)
            {
                return found;
            }

            Thread.Sleep(50);
        }
        while (sw.Elapsed < timeout);
        return default;
    }

    /// <summary>The tails of stderr and the serial output, for error messages.</summary>
    public string Diagnostics()
    {
        string stderr;
        lock (_stderr)
        {
            stderr = _stderr.ToString();
        }

        string serial = ReadShared(SerialPath);
        return $"\n  {Describe()} stderr: {Tail(stderr)}\n  {Describe()} serial: {Tail(serial)}";
    }

    /// <summary>
    /// With <c>EMU_BENCH_KEEP_LOGS=DIR</c>, Emu's log is copied there before its directory goes (one file per
    /// process, named after its side and directory), for reading the timestamps of a run afterwards.
    /// </summary>
    private void KeepLog()
    {
        string? keep = Environment.GetEnvironmentVariable("EMU_BENCH_KEEP_LOGS");
        if (string.IsNullOrEmpty(keep) || !File.Exists(LogPath))
        {
            return;
        }

        System.IO.Directory.CreateDirectory(keep);
        File.WriteAllText(Path.Combine(keep, $"{Path.GetFileName(Directory)}.log"), ReadShared(LogPath));
    }

    public void Dispose()
    {
        KeepLog();
        ChildProcesses.Kill(_process);
        _process.Dispose();
    }

    private string Describe() => $"{Kind.ToString().ToLowerInvariant()} {Name}";

    private static string Tail(string s)
    {
        s = s.Trim();
        return s.Length == 0 ? "(empty)" : s.Length <= TailChars ? s : "…" + s[^TailChars..];
    }

    private static string ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            return reader.ReadToEnd();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }

    [GeneratedRegex(@"migration: true pause = ([0-9]+(?:[.,][0-9]+)?) ms")]
    private static partial Regex TruePauseLine();
}
