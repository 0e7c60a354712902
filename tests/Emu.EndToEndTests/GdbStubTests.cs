using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// The GDB remote stub (<c>-gdb tcp::PORT</c>, <c>-s</c>) driven by Debian's gdb and by the raw protocol:
/// breakpoints, single steps, registers and memory, Ctrl-C, and a stopped guest that migrates and is debugged
/// on the destination.
/// </summary>
public sealed class GdbStubTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>hello's code at 1 MiB: 0x100074 mov dx, 0x501 (4 bytes); 0x100078 mov al, 0; 0x10007a out dx, al.</summary>
    [Fact]
    public void GdbBreaksStepsAndReadsRegistersAndMemory()
    {
        int port = Loopback.FreeTcpPort();
        using var emu = new EmuProcess("gdb-hello");
        emu.Start("-kernel", EmuProcess.GuestPath("hello"), "-S", "-gdb", $"tcp::{port}", "-display", "none", "-serial", "stdio");
        using (new RawGdb(port))
        {
            // The stub listens: gdb, which does not retry, can connect now.
        }

        string output = RunGdb(port,
            "info registers eip eax",
            "break *0x100074",
            "continue",
            "info registers eip",
            "stepi",
            "info registers eip edx",
            "x/2xb 0x100078",
            "set $eax = 0x1234",
            "info registers eax",
            "detach");

        Assert.Contains("eip            0x100060", output);      // the multiboot entry, before the guest ran (-S)
        Assert.Contains("eax            0x2badb002", output);
        Assert.Contains("Breakpoint 1, 0x00100074", output);
        Assert.Contains("eip            0x100078", output);      // one instruction further
        Assert.Contains("edx            0x501", output);
        Assert.Contains("0x100078:\t0xb0\t0x00", output);
        Assert.Contains("eax            0x1234", output);
        Assert.Equal(1, emu.WaitForExit(Timeout));               // detached: the guest ran on to isa-debug-exit
        Assert.Contains("Hello from Emu", emu.StandardOutput);
    }

    [Fact]
    public void CtrlCStopsARunningGuest()
    {
        int port = Loopback.FreeTcpPort();
        using var emu = new EmuProcess("gdb-ctrlc");
        emu.Start("-kernel", EmuProcess.GuestPath("ab"), "-m", "32M", "-gdb", $"tcp::{port}", "-display", "none", "-serial", $"file:{emu.SerialPath}", "-qmp", emu.QmpSpec);
        using QmpClient qmp = emu.ConnectQmp();
        emu.WaitForSerial("B", Timeout);
        using var gdb = new RawGdb(port);
        Assert.Equal("debug", MigrationPair.RunStatus(qmp));     // attaching stops the guest, as QEMU's stub does
        gdb.Send("c");
        WaitForStatus(qmp, "running");
        gdb.Interrupt();
        Assert.StartsWith("T02", gdb.Receive());
        Assert.Equal("debug", MigrationPair.RunStatus(qmp));
    }

    [Fact]
    public void AStoppedGuestMigratesAndTheStubWorksOnTheDestination()
    {
        int srcPort = Loopback.FreeTcpPort(), dstPort = Loopback.FreeTcpPort(), migPort = Loopback.FreeTcpPort();
        using var src = new EmuProcess("gdb-mig-src");
        src.Start("-kernel", EmuProcess.GuestPath("ab"), "-m", "32M", "-gdb", $"tcp::{srcPort}", "-display", "none", "-serial", $"file:{src.SerialPath}", "-qmp", src.QmpSpec);
        using var dst = new EmuProcess("gdb-mig-dst");
        dst.Start("-kernel", EmuProcess.GuestPath("ab"), "-m", "32M", "-gdb", $"tcp::{dstPort}", "-display", "none", "-serial", $"file:{dst.SerialPath}", "-qmp", dst.QmpSpec, "-incoming", $"tcp:127.0.0.1:{migPort}");
        using QmpClient srcQmp = src.ConnectQmp();
        using QmpClient dstQmp = dst.ConnectQmp();
        src.WaitForSerial("B", Timeout);

        string registers;
        using (var gdb = new RawGdb(srcPort))
        {
            gdb.Send("g");
            registers = gdb.Receive();
        }

        srcQmp.Execute("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 0 });
        srcQmp.Execute("migrate", new JsonObject { ["uri"] = $"tcp:127.0.0.1:{migPort}" });
        MigrationPair.WaitForStatus(srcQmp, ["completed"], Timeout, src.Diagnostics);
        MigrationPair.WaitForStatus(dstQmp, ["completed"], Timeout, dst.Diagnostics);
        Assert.NotEqual("running", MigrationPair.RunStatus(dstQmp)); // it was stopped; it stays stopped

        using var onDestination = new RawGdb(dstPort);
        onDestination.Send("g");
        Assert.Equal(registers, onDestination.Receive());
        onDestination.Send("s");
        Assert.StartsWith("T05", onDestination.Receive());
        onDestination.Send("g");
        Assert.NotEqual(registers, onDestination.Receive()); // the step ran on the destination
    }

    private static void WaitForStatus(QmpClient qmp, string status)
    {
        var deadline = Stopwatch.StartNew();
        while (MigrationPair.RunStatus(qmp) != status)
        {
            Assert.True(deadline.Elapsed < Timeout, $"run state never became {status}");
            Thread.Sleep(20);
        }
    }

    private static string RunGdb(int port, params string[] commands)
    {
        var psi = new ProcessStartInfo("gdb") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-batch", "-nx", "-ex", "set architecture i386", "-ex", $"target remote 127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string c in commands)
        {
            psi.ArgumentList.Add("-ex");
            psi.ArgumentList.Add(c);
        }

        using Process gdb = Process.Start(psi)!;
        Task<string> err = gdb.StandardError.ReadToEndAsync();
        string output = gdb.StandardOutput.ReadToEnd();
        Assert.True(gdb.WaitForExit(Timeout), "gdb did not finish");
        return output + err.Result;
    }

    /// <summary>The remote protocol by hand: packets with checksums, acks skipped, Ctrl-C as a raw 0x03.</summary>
    private sealed class RawGdb : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly StringBuilder _pending = new();

        public RawGdb(int port)
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    _socket.Connect("127.0.0.1", port);
                    break;
                }
                catch (SocketException) when (deadline.Elapsed < Timeout)
                {
                    Thread.Sleep(50);
                }
            }

            _socket.ReceiveTimeout = (int)Timeout.TotalMilliseconds;
            Send("?");
            Assert.StartsWith("T05", Receive());
        }

        public void Send(string payload)
        {
            int sum = Encoding.ASCII.GetBytes(payload).Aggregate(0, (s, b) => (s + b) & 0xFF);
            _socket.Send(Encoding.ASCII.GetBytes($"${payload}#{sum:x2}"));
        }

        public void Interrupt() => _socket.Send([0x03]);

        /// <summary>The next packet's payload.</summary>
        public string Receive()
        {
            var buffer = new byte[4096];
            while (true)
            {
                string text = _pending.ToString();
                int start = text.IndexOf('$');
                int hash = start < 0 ? -1 : text.IndexOf('#', start);
                if (hash >= 0 && text.Length >= hash + 3)
                {
                    _pending.Remove(0, hash + 3);
                    return text[(start + 1)..hash];
                }

                int n = _socket.Receive(buffer);
                Assert.True(n > 0, "gdbstub closed the connection");
                _pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
