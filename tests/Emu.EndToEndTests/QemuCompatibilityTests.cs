using System.Diagnostics;
using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// A QEMU user's everyday switches and QMP/HMP commands, run against Emu and against Debian's qemu-system-i386
/// side by side: both accept the same invocations, and the answers have the same shapes (keys, types, HMP text).
/// Skipped with a message where QEMU is not installed (./run.sh bench installs it).
/// </summary>
public sealed class QemuCompatibilityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string[]> Invocations() => new()
    {
        { ["-accel", "tcg"] },
        { ["-accel", "tcg,thread=single"] },
        { ["-M", "pc"] },
        { ["-machine", "pc,accel=tcg"] },
        { ["-cpu", "max"] },
        { ["-nographic"] },
        { ["-name", "guest-1"] },
        { ["-monitor", "none"] },
        { ["-m", "64M", "-no-reboot"] },
    };

    /// <summary>The hello guest with each invocation: it prints its line on the serial console and exits through isa-debug-exit (status 1) on both.</summary>
    [SkippableTheory]
    [MemberData(nameof(Invocations))]
    public void TheSameInvocationRunsTheGuestOnBoth(string[] args)
    {
        string? qemu = EmuProcess.QemuPath;
        foreach (string? program in new[] { EmuProcess.EmuPath, qemu })
        {
            if (program == null)
            {
                continue;
            }

            using var vm = new EmuProcess(program == qemu ? "qemu-compat" : "emu-compat") { Program = program };
            // -nographic puts the serial line on stdio by itself (QEMU multiplexes its monitor there too).
            string[] serial = args.Contains("-nographic") ? [] : ["-serial", "stdio"];
            vm.Start(["-kernel", EmuProcess.GuestPath("hello"), "-display", "none", .. serial, "-device", "isa-debug-exit,iobase=0x501,iosize=2", .. args]);
            Assert.Equal(1, vm.WaitForExit(Timeout));
            Assert.Contains("Hello from Emu", vm.StandardOutput);
        }

        Skip.If(qemu == null, "qemu-system-i386 is not installed (Debian's qemu-system-x86): Emu ran alone");
    }

    [Fact]
    public void PidfileHoldsTheProcessIdWhileItRuns()
    {
        using var emu = new EmuProcess("pidfile");
        string pidfile = Path.Combine(emu.Directory, "emu.pid");
        emu.Start("-kernel", EmuProcess.GuestPath("ab"), "-display", "none", "-serial", "none", "-qmp", emu.QmpSpec, "-pidfile", pidfile);
        using QmpClient qmp = emu.ConnectQmp();
        Assert.Equal($"{emu.ProcessId}\n", File.ReadAllText(pidfile));
        qmp.Execute("quit");
        emu.WaitForExit(Timeout);
        Assert.False(File.Exists(pidfile));
    }

    [Fact]
    public void MonitorOnAUnixSocketAnswersHmpCommands()
    {
        using var emu = new EmuProcess("hmp-socket");
        string path = Path.Combine(emu.Directory, "hmp.sock");
        emu.Start("-kernel", EmuProcess.GuestPath("hello"), "-S", "-display", "none", "-serial", "none", "-monitor", $"unix:{path},server,wait=off");
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
                break;
            }
            catch (System.Net.Sockets.SocketException) when (deadline.Elapsed < Timeout)
            {
                Thread.Sleep(50);
            }
        }

        using var stream = new System.Net.Sockets.NetworkStream(socket);
        using var reader = new StreamReader(stream);
        using var writer = new StreamWriter(stream) { AutoFlush = true };
        writer.Write("info status\n");
        string text = "";
        while (!text.Contains("VM status: paused (prelaunch)", StringComparison.Ordinal) && deadline.Elapsed < Timeout)
        {
            var buffer = new char[256];
            int n = reader.Read(buffer, 0, buffer.Length);
            Assert.True(n > 0, $"monitor closed the connection after: {text}");
            text += new string(buffer, 0, n);
        }

        Assert.StartsWith("QEMU 7.2.0 monitor - type 'help' for more information", text);
        Assert.Contains("VM status: paused (prelaunch)", text);
    }

    [Fact]
    public void DaemonizeReturnsOnceTheGuestRunsAndLeavesItDetached()
    {
        using var emu = new EmuProcess("daemon");
        string pidfile = Path.Combine(emu.Directory, "emu.pid");
        emu.Start("-daemonize", "-kernel", EmuProcess.GuestPath("ab"), "-m", "32M", "-display", "none", "-serial", $"file:{emu.SerialPath}", "-qmp", emu.QmpSpec, "-pidfile", pidfile);
        Assert.Equal(0, emu.WaitForExit(Timeout));
        int daemon = int.Parse(File.ReadAllText(pidfile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(emu.ProcessId, daemon);
        using (QmpClient qmp = QmpClient.ConnectUnix(emu.QmpSocketPath))
        {
            Assert.Equal("running", MigrationPair.RunStatus(qmp));
            var running = Stopwatch.StartNew();
            while (!File.ReadAllText(emu.SerialPath).Contains('B') && running.Elapsed < Timeout)
            {
                Thread.Sleep(20); // the daemon, not the process we started (it has returned), prints the passes
            }

            Assert.Contains('B', File.ReadAllText(emu.SerialPath));
            qmp.Execute("quit");
        }

        var gone = Stopwatch.StartNew();
        while (File.Exists(pidfile) && gone.Elapsed < Timeout)
        {
            Thread.Sleep(20);
        }

        Assert.False(File.Exists(pidfile), "the daemon left its pid file");
    }

    [Fact]
    public void ADaemonThatCannotStartSaysWhyThroughItsParent()
    {
        using var emu = new EmuProcess("daemon-fails");
        emu.Start("-daemonize", "-kernel", EmuProcess.GuestPath("ab"), "-display", "none", "-drive", "file=/nonexistent/disk.img,format=raw");
        Assert.Equal(1, emu.WaitForExit(Timeout));
        Assert.Equal("emu: -drive file=/nonexistent/disk.img: No such file or directory", emu.StandardError.TrimEnd('\n'));
    }

    public static TheoryData<string, string?> Commands() => new()
    {
        { "query-target", null },
        { "query-kvm", null },
        { "query-machines", null },
        { "query-cpus-fast", null },
        { "query-hotpluggable-cpus", null },
        { "query-name", null },
        { "query-status", null },
        { "human-monitor-command", "info status" },
        { "human-monitor-command", "xp /4x 0x100000" },
        { "system_powerdown", null },
        { "query-vcpu-dirty-limit", null },
    };

    /// <summary>Each command answers on both with the same JSON shape; where the value is the machine's (target, kvm, HMP status), the same value.</summary>
    [SkippableTheory]
    [MemberData(nameof(Commands))]
    public void QmpCommandsAnswerAsQemusDo(string command, string? hmp)
    {
        string? qemu = EmuProcess.QemuPath;
        Skip.If(qemu == null, "qemu-system-i386 is not installed (Debian's qemu-system-x86); nothing to compare with");
        JsonNode? emuAnswer = Ask(EmuProcess.EmuPath, command, hmp);
        JsonNode? qemuAnswer = Ask(qemu!, command, hmp);
        AssertSameShape(qemuAnswer, emuAnswer, command);
        if (command is "query-target" || hmp is "info status")
        {
            Assert.Equal(qemuAnswer?.ToJsonString(), emuAnswer?.ToJsonString());
        }

        if (command is "query-kvm")
        {
            // Neither runs on KVM here; "present" is the host's /dev/kvm to QEMU, and never true for Emu.
            Assert.False(qemuAnswer!["enabled"]!.GetValue<bool>());
            Assert.False(emuAnswer!["enabled"]!.GetValue<bool>());
        }

        if (hmp?.StartsWith("xp", StringComparison.Ordinal) == true)
        {
            // Both load hello at 1 MiB: the same four words.
            Assert.Equal(qemuAnswer!.GetValue<string>(), emuAnswer!.GetValue<string>());
        }
    }

    [Fact]
    public void InfoRegistersShowsTheCpuAsQemuLaysItOut()
    {
        using var emu = new EmuProcess("hmp-registers");
        emu.Start("-kernel", EmuProcess.GuestPath("hello"), "-display", "none", "-serial", "none", "-qmp", emu.QmpSpec, "-S");
        using QmpClient qmp = emu.ConnectQmp();
        string regs = qmp.Execute("human-monitor-command", new JsonObject { ["command-line"] = "info registers" })!.GetValue<string>();
        Assert.Contains("EAX=2badb002 EBX=00009000", regs);
        Assert.Contains("EIP=00100", regs);
        Assert.Contains("CS =0008 00000000 ffffffff", regs);
        Assert.Contains("CR0=", regs);
        string x = qmp.Execute("human-monitor-command", new JsonObject { ["command-line"] = "x /2xb 0x100000" })!.GetValue<string>();
        Assert.StartsWith("0000000000100000: 0x", x);
        Assert.Equal("VM status: paused (prelaunch)\r\n", qmp.Execute("human-monitor-command", new JsonObject { ["command-line"] = "info status" })!.GetValue<string>());
        qmp.Execute("human-monitor-command", new JsonObject { ["command-line"] = "cont" });
        Assert.Equal(1, emu.WaitForExit(Timeout));
    }

    private static JsonNode? Ask(string program, string command, string? hmp)
    {
        using var vm = new EmuProcess(program == EmuProcess.EmuPath ? "emu-qmp" : "qemu-qmp") { Program = program };
        vm.Start("-kernel", EmuProcess.GuestPath("hello"), "-display", "none", "-serial", "none", "-S", "-name", "cmp",
            "-qmp", $"unix:{vm.QmpSocketPath},server=on,wait=off", "-device", "isa-debug-exit,iobase=0x501,iosize=2");
        using QmpClient qmp = vm.ConnectQmp();
        JsonNode? answer = hmp == null
            ? qmp.Execute(command)
            : qmp.Execute(command, new JsonObject { ["command-line"] = hmp });
        if (command == "system_powerdown")
        {
            qmp.WaitForEvent("POWERDOWN");
        }

        return answer;
    }

    /// <summary>A value's JSON kind, with true and false one kind.</summary>
    private static System.Text.Json.JsonValueKind? Kind(JsonNode? v) => v?.GetValueKind() switch
    {
        System.Text.Json.JsonValueKind.False => System.Text.Json.JsonValueKind.True,
        var k => k,
    };

    /// <summary>Objects: Emu has every key QEMU has (values compared by kind); arrays: the first elements compared.</summary>
    private static void AssertSameShape(JsonNode? expected, JsonNode? actual, string path)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual == null || actual is JsonObject { Count: 0 }, $"{path}: QEMU answered {{}}, Emu {actual?.ToJsonString()}");
                break;
            case JsonObject o:
                var a = Assert.IsType<JsonObject>(actual);
                foreach ((string key, JsonNode? value) in o)
                {
                    Assert.True(a.ContainsKey(key), $"{path}: Emu's answer lacks '{key}' ({a.ToJsonString()})");
                    AssertSameShape(value, a[key], $"{path}.{key}");
                }

                break;
            case JsonArray arr:
                var b = Assert.IsType<JsonArray>(actual);
                Assert.Equal(arr.Count > 0, b.Count > 0);
                if (arr.Count > 0)
                {
                    AssertSameShape(arr[0], b[0], $"{path}[0]");
                }

                break;
            default:
                Assert.Equal(Kind(expected), Kind(actual));
                break;
        }
    }
}
