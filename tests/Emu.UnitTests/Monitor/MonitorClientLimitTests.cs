using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Emu.Machine.Memory;
using Emu.Monitor;
using Emu.Monitor.Commands;
using Emu.Monitor.Hmp;
using Emu.Monitor.Server;

namespace Emu.UnitTests.Monitor;

/// <summary>
/// A monitor server (QMP, the human monitor) serves at most <see cref="MonitorClientLimit.MaxClients"/> clients at
/// once, each on a thread of its own: one more is told why in one line and closed, the connected ones go on as
/// before, a place given back is taken again, and the threads stay bounded however many clients knock.
/// </summary>
[Collection(ThreadCountingCollection.Name)]
public sealed class MonitorClientLimitTests : IDisposable
{
    private const int Max = MonitorClientLimit.MaxClients;

    // Enough extra clients that a thread each would show far beyond the bound the test allows.
    private const int Extra = 3 * Max;

    private readonly QmpTestHost _qmp = new(t => t.Add("echo", a => new JsonObject { ["val"] = new QmpArguments(a, "val").GetInt64("val") }));
    private readonly List<IDisposable> _open = [];

    public void Dispose()
    {
        foreach (IDisposable d in _open)
        {
            d.Dispose();
        }

        _qmp.Dispose();
    }

    [Fact]
    public void Qmp_client_over_the_cap_is_refused_and_the_connected_ones_still_answer()
    {
        int threadsBefore = ThreadsNamed("qmp/client/");
        var clients = new List<QmpTestSocket>();
        for (int i = 0; i < Max; i++)
        {
            QmpTestSocket c = Keep(_qmp.Connect());
            Assert.NotNull(c.ReadMessage()["QMP"]);
            clients.Add(c);
        }

        for (int i = 0; i < Extra; i++)
        {
            using QmpTestSocket extra = _qmp.Connect();
            JsonObject refused = extra.ReadMessage();
            Assert.True(refused.ContainsKey("error"), $"client {Max + i + 1} was served with {_qmp.Server.ClientCount} connected: {refused.ToJsonString()}");
            Assert.Equal("GenericError", refused["error"]!["class"]!.GetValue<string>());
            Assert.Equal($"qmp: {Max} clients are connected, the most this server serves at once; connection refused", refused["error"]!["desc"]!.GetValue<string>());
            Assert.True(extra.IsClosedByPeer());
        }

        Assert.Equal(Max, _qmp.Server.ClientCount);
        Assert.InRange(ThreadsNamed("qmp/client/") - threadsBefore, 0, Max);
        foreach (QmpTestSocket c in new[] { clients[0], clients[Max / 2], clients[^1] })
        {
            Assert.Equal("{}", c.Execute("""{"execute": "qmp_capabilities"}""")["return"]!.ToJsonString());
            Assert.Equal(9, c.Execute("""{"execute": "echo", "arguments": {"val": 9}}""")["return"]!["val"]!.GetValue<long>());
        }

        // A client that leaves gives its place to the next one.
        clients[1].Dispose();
        WaitFor(() => _qmp.Server.ClientCount == Max - 1, "the server to drop the client that left");
        QmpTestSocket next = Keep(_qmp.Connect());
        Assert.NotNull(next.ReadMessage()["QMP"]);
    }

    [Fact]
    public void Human_monitor_client_over_the_cap_is_refused_and_the_connected_ones_still_answer()
    {
        string path = Path.Combine(_qmp.Directory, "hmp.sock");
        var control = new MachineControl { Quit = () => { }, SystemReset = () => { }, SetAutostart = _ => { } };
        var monitor = new HumanMonitor(new QmpCommandTable(), new AddressSpace(), control);
        Keep(new HmpServer(monitor, QmpEndpoint.Unix(path)));
        int threadsBefore = ThreadsNamed("monitor/client");
        var clients = new List<LineSocket>();
        for (int i = 0; i < Max; i++)
        {
            LineSocket c = Keep(new LineSocket(path));
            Assert.StartsWith("QEMU ", c.ReadLine());
            Assert.Equal("(qemu) ", c.ReadUntil("(qemu) "));
            clients.Add(c);
        }

        for (int i = 0; i < Extra; i++)
        {
            using var extra = new LineSocket(path);
            Assert.Equal($"monitor: {Max} clients are connected, the most this monitor serves at once; connection refused", extra.ReadLine());
            Assert.Null(extra.ReadLine());
        }

        Assert.InRange(ThreadsNamed("monitor/client") - threadsBefore, 0, Max);
        foreach (LineSocket c in new[] { clients[0], clients[^1] })
        {
            c.Send("frobnicate\n");
            Assert.Equal("unknown command: 'frobnicate'\r\n(qemu) ", c.ReadUntil("(qemu) "));
        }

        clients[1].Dispose();
        WaitFor(() => ThreadsNamed("monitor/client") - threadsBefore < Max, "the monitor to end the client that left");
        LineSocket next = Keep(new LineSocket(path));
        Assert.StartsWith("QEMU ", next.ReadLine());
    }

    private T Keep<T>(T d)
        where T : IDisposable
    {
        _open.Add(d);
        return d;
    }

    /// <summary>This process's threads whose kernel name (15 bytes at most, set from Thread.Name) starts so.</summary>
    private static int ThreadsNamed(string prefix)
    {
        int n = 0;
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith(prefix, StringComparison.Ordinal))
                {
                    n++;
                }
            }
            catch (IOException)
            {
                // The thread ended while the list was read.
            }
        }

        return n;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }

    /// <summary>A unix-socket client of the human monitor that reads CRLF lines (null at the end of the stream).</summary>
    private sealed class LineSocket : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly StringBuilder _pending = new();

        public LineSocket(string path)
        {
            _socket.ReceiveTimeout = 30000;
            _socket.Connect(new UnixDomainSocketEndPoint(path));
        }

        public void Send(string text) => _socket.Send(Encoding.UTF8.GetBytes(text));

        public string? ReadLine()
        {
            string? text = ReadUntil("\r\n");
            return text?[..^2];
        }

        /// <summary>Everything up to and including <paramref name="end"/>, or null when the stream ends first.</summary>
        public string? ReadUntil(string end)
        {
            byte[] buffer = new byte[4096];
            while (true)
            {
                string text = _pending.ToString();
                int at = text.IndexOf(end, StringComparison.Ordinal);
                if (at >= 0)
                {
                    _pending.Remove(0, at + end.Length);
                    return text[..(at + end.Length)];
                }

                int n = _socket.Receive(buffer);
                if (n == 0)
                {
                    return null;
                }

                _pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
