using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>QMP against a running emu: QEMU's protocol, commands and events.</summary>
public sealed class QmpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void StopContQueryStatusAndEvents()
    {
        using var emu = EmuProcess.StartGuest("ab", "qmp", "-m", "32M");
        emu.WaitForSerial("B", Timeout);
        using QmpClient qmp = emu.ConnectQmp();
        Assert.True(qmp.Greeting["QMP"]?["version"] != null);

        Assert.Equal("running", qmp.Execute("query-status")["status"]!.GetValue<string>());
        qmp.Execute("stop");
        qmp.WaitForEvent("STOP");
        JsonNode paused = qmp.Execute("query-status");
        Assert.Equal("paused", paused["status"]!.GetValue<string>());
        Assert.False(paused["running"]!.GetValue<bool>());

        // While stopped the guest prints nothing more.
        int bs = emu.Serial.Count(c => c == 'B');
        Thread.Sleep(300);
        Assert.Equal(bs, emu.Serial.Count(c => c == 'B'));

        qmp.Execute("cont");
        qmp.WaitForEvent("RESUME");
        emu.WaitForSerial("B", bs + 2, Timeout);
    }

    [Fact]
    public void MalformedJsonAndUnknownCommandsKeepTheConnection()
    {
        using var emu = EmuProcess.StartGuest("ab", "qmp-bad", "-m", "32M");
        using QmpClient qmp = emu.ConnectQmp();
        JsonObject bad = qmp.SendRaw("{\"execute\": }\n");
        Assert.Equal("GenericError", bad["error"]?["class"]?.GetValue<string>());
        var unknown = Assert.Throws<QmpErrorException>(() => qmp.Execute("no-such-command"));
        Assert.Equal("CommandNotFound", unknown.ErrorClass);
        Assert.Equal("running", qmp.Execute("query-status")["status"]!.GetValue<string>());
    }

    [Fact]
    public void QuitEmitsShutdownAndEndsTheProcess()
    {
        using var emu = EmuProcess.StartGuest("ab", "qmp-quit", "-m", "32M");
        using QmpClient qmp = emu.ConnectQmp();
        qmp.Execute("quit");
        JsonObject shutdown = qmp.WaitForEvent("SHUTDOWN");
        Assert.Equal("host-qmp-quit", shutdown["data"]?["reason"]?.GetValue<string>());
        Assert.Equal(0, emu.WaitForExit(Timeout));
    }

    /// <summary>As QEMU's termination signals: the machine ends as on quit, saying why on stderr, with exit code 0.</summary>
    [Theory]
    [InlineData("TERM", "SIGTERM")]
    [InlineData("INT", "SIGINT")]
    [InlineData("HUP", "SIGHUP")]
    public void ATerminationSignalEndsTheMachineAsQuitDoes(string signal, string name)
    {
        using var emu = EmuProcess.StartGuest("ab", "qmp-signal-" + signal, "-m", "32M");
        emu.WaitForSerial("B", Timeout);
        using QmpClient qmp = emu.ConnectQmp();
        emu.SendSignal(signal);
        JsonObject shutdown = qmp.WaitForEvent("SHUTDOWN");
        Assert.Equal("host-signal", shutdown["data"]?["reason"]?.GetValue<string>());
        Assert.Equal(0, emu.WaitForExit(Timeout));
        Assert.Contains($"emu: terminating on signal {name}", emu.StandardError);
    }

    /// <summary>
    /// Emu's QMP server takes 64 clients at once (MonitorClientLimit.MaxClients; QEMU's monitor takes one): each
    /// one more is sent a GenericError line and closed, the connected clients still answer, and however many knock,
    /// the process's threads stay bounded (a thread per client made 5,015 threads for 5,000 idle clients).
    /// </summary>
    [Fact]
    public void ClientsOverTheCapAreRefusedAndTheConnectedOnesStillAnswer()
    {
        const int maxClients = 64;
        using var emu = EmuProcess.StartGuest("ab", "qmp-cap", "-m", "32M");
        using QmpClient first = emu.ConnectQmp();
        int threadsBefore = Directory.GetDirectories($"/proc/{emu.ProcessId}/task").Length;
        var idle = new List<Socket>();
        try
        {
            for (int i = 1; i < maxClients; i++)
            {
                Socket s = ConnectRaw(emu.QmpSocketPath);
                idle.Add(s);
                Assert.Contains("\"QMP\"", ReadToLineEnd(s));
            }

            for (int i = 0; i < 4 * maxClients; i++)
            {
                using Socket extra = ConnectRaw(emu.QmpSocketPath);
                string refused = ReadToLineEnd(extra);
                Assert.Contains($"\"desc\": \"qmp: {maxClients} clients are connected, the most this server serves at once; connection refused\"", refused);
                Assert.Equal(0, extra.Receive(new byte[16]));
            }

            Assert.Equal("running", first.Execute("query-status")["status"]!.GetValue<string>());
            int threadsAfter = Directory.GetDirectories($"/proc/{emu.ProcessId}/task").Length;
            Assert.InRange(threadsAfter - threadsBefore, 0, maxClients + 16);
        }
        finally
        {
            foreach (Socket s in idle)
            {
                s.Dispose();
            }
        }
    }

    [Fact]
    public void PmemsaveWritesGuestMemory()
    {
        using var emu = EmuProcess.StartGuest("hello", "pmem", "-m", "32M", "-S");
        using QmpClient qmp = emu.ConnectQmp();
        string path = Path.Combine(emu.Directory, "mbi.bin");

        // The multiboot info the loader wrote at 0x9000: flags, mem_lower 639 KiB, mem_upper 31 MiB.
        qmp.Execute("pmemsave", new JsonObject { ["val"] = 0x9000, ["size"] = 12, ["filename"] = path });
        byte[] mbi = File.ReadAllBytes(path);
        Assert.Equal(639u, BitConverter.ToUInt32(mbi, 4));
        Assert.Equal(31u * 1024, BitConverter.ToUInt32(mbi, 8));
    }

    private static Socket ConnectRaw(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Timeout.TotalMilliseconds };
        s.Connect(new UnixDomainSocketEndPoint(path));
        return s;
    }

    /// <summary>Bytes up to the first CRLF (one QMP line); fails if the server closes first.</summary>
    private static string ReadToLineEnd(Socket s)
    {
        var text = new StringBuilder();
        byte[] one = new byte[1];
        while (!text.ToString().EndsWith("\r\n", StringComparison.Ordinal))
        {
            Assert.True(s.Receive(one) == 1, $"the server closed after '{text}'");
            text.Append((char)one[0]);
        }

        return text.ToString();
    }
}
