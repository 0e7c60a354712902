using System.Net.Sockets;
using System.Text.Json.Nodes;
using Emu.Monitor;
using Emu.Monitor.Server;

namespace Emu.UnitTests.Monitor;

public sealed class QmpServerTests : IDisposable
{
    private readonly QmpTestHost _host = new(Register);

    public void Dispose() => _host.Dispose();

    /// <summary>"echo" returns {"val": val}: an integer argument checked by QmpArguments.</summary>
    private static void Register(QmpCommandTable table)
    {
        table.Add("echo", args => new JsonObject { ["val"] = new QmpArguments(args, "val").GetInt64("val") });
        table.Add("refuse", _ => throw new QmpException("DeviceNotFound", "Device 'x' not found"));
    }

    [Fact]
    public void Greeting_names_the_version_and_offers_oob()
    {
        using QmpTestSocket s = _host.Connect();

        string line = s.ReadLine();

        Assert.Equal(
            """{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Emu"}, "capabilities": ["oob"]}}""",
            line);
    }

    [Fact]
    public void Commands_before_negotiation_are_refused_with_QEMUs_hint()
    {
        using QmpTestSocket s = _host.Connect();
        s.ReadMessage();

        JsonObject r = s.Execute("""{"execute": "echo", "arguments": {"val": 1}, "id": 7}""");

        Assert.Equal("CommandNotFound", r["error"]!["class"]!.GetValue<string>());
        Assert.Equal("Expecting capabilities negotiation with 'qmp_capabilities'", r["error"]!["desc"]!.GetValue<string>());
        Assert.Equal(7, r["id"]!.GetValue<int>());
    }

    [Fact]
    public void Negotiating_twice_is_refused()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute("""{"execute": "qmp_capabilities"}""");

        Assert.Equal("CommandNotFound", r["error"]!["class"]!.GetValue<string>());
        Assert.Equal("Capabilities negotiation is already complete, command ignored", r["error"]!["desc"]!.GetValue<string>());
    }

    [Fact]
    public void Negotiation_refuses_an_unknown_capability()
    {
        using QmpTestSocket s = _host.Connect();
        s.ReadMessage();

        JsonObject r = s.Execute("""{"execute": "qmp_capabilities", "arguments": {"enable": ["turbo"]}}""");

        Assert.Equal("Parameter 'enable[0]' does not accept value 'turbo'", r["error"]!["desc"]!.GetValue<string>());
        Assert.Equal("{}", s.Execute("""{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}""")["return"]!.ToJsonString());
    }

    [Theory]
    [InlineData("42")]
    [InlineData("\"abc\"")]
    [InlineData("{\"seq\": [1, 2]}")]
    public void Replies_carry_the_request_id(string id)
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute($$"""{"execute": "echo", "arguments": {"val": 5}, "id": {{id}}}""");

        Assert.Equal(5, r["return"]!["val"]!.GetValue<long>());
        Assert.Equal(JsonNode.Parse(id)!.ToJsonString(), r["id"]!.ToJsonString());
    }

    [Fact]
    public void Replies_are_written_as_QEMU_writes_them()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Send("""{"execute":"echo","arguments":{"val":5},"id":1}""");

        Assert.Equal("""{"return": {"val": 5}, "id": 1}""", s.ReadLine());
    }

    [Fact]
    public void Malformed_json_gets_an_error_and_the_connection_stays_open()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject bad = s.Execute("{\"execute\": qmp}\n");
        JsonObject good = s.Execute("""{"execute": "echo", "arguments": {"val": 3}, "id": 2}""");

        Assert.Equal("GenericError", bad["error"]!["class"]!.GetValue<string>());
        Assert.StartsWith("JSON parse error, ", bad["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(bad["id"]);
        Assert.Equal(3, good["return"]!["val"]!.GetValue<long>());
    }

    [Fact]
    public void A_broken_string_does_not_swallow_the_next_line()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Send("{\"execute\": \"echo\n{\"execute\": \"echo\", \"arguments\": {\"val\": 9}}\n");

        Assert.StartsWith("JSON parse error, ", s.ReadMessage()["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(9, s.ReadMessage()["return"]!["val"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("[1, 2]", "QMP input must be a JSON object")]
    [InlineData("42", "QMP input must be a JSON object")]
    [InlineData("{\"arguments\": {}}", "QMP input lacks member 'execute'")]
    [InlineData("{\"execute\": 1}", "QMP input member 'execute' must be a string")]
    [InlineData("{\"execute\": \"echo\", \"arguments\": []}", "QMP input member 'arguments' must be an object")]
    [InlineData("{\"execute\": \"echo\", \"bogus\": 1}", "QMP input member 'bogus' is unexpected")]
    [InlineData("{\"exec-oob\": \"echo\", \"id\": 1}", "QMP input member 'exec-oob' is unexpected")]
    [InlineData("{\"execute\": \"echo\", \"arguments\": {\"val\": \"x\"}}", "Parameter 'val' expects integer")]
    [InlineData("{\"execute\": \"echo\", \"arguments\": {\"val\": 1.5}}", "Parameter 'val' expects integer")]
    [InlineData("{\"execute\": \"echo\", \"arguments\": {}}", "Parameter 'val' is missing")]
    [InlineData("{\"execute\": \"echo\", \"arguments\": {\"val\": 1, \"more\": 2}}", "Parameter 'more' is unexpected")]
    [InlineData("{\"execute\": \"echo\", \"execute\": \"echo\"}", "JSON parse error, ")]
    public void Bad_requests_get_QEMUs_generic_errors(string request, string desc)
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute(request + "\r\n");

        Assert.Equal("GenericError", r["error"]!["class"]!.GetValue<string>());
        Assert.StartsWith(desc, r["error"]!["desc"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, s.Execute("""{"execute": "echo", "arguments": {"val": 1}}""")["return"]!["val"]!.GetValue<long>());
    }

    [Fact]
    public void Unknown_command_is_CommandNotFound()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute("""{"execute": "no-such-thing", "id": "x"}""");

        Assert.Equal("CommandNotFound", r["error"]!["class"]!.GetValue<string>());
        Assert.Equal("The command no-such-thing has not been found", r["error"]!["desc"]!.GetValue<string>());
        Assert.Equal("x", r["id"]!.GetValue<string>());
    }

    [Fact]
    public void A_handlers_refusal_keeps_its_error_class()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute("""{"execute": "refuse"}""");

        Assert.Equal("DeviceNotFound", r["error"]!["class"]!.GetValue<string>());
        Assert.Equal("Device 'x' not found", r["error"]!["desc"]!.GetValue<string>());
    }

    [Fact]
    public void Two_requests_in_one_write_get_two_replies_in_order()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Send("""{"execute": "echo", "arguments": {"val": 1}}{"execute": "echo", "arguments": {"val": 2}}""");

        Assert.Equal(1, s.ReadMessage()["return"]!["val"]!.GetValue<long>());
        Assert.Equal(2, s.ReadMessage()["return"]!["val"]!.GetValue<long>());
    }

    [Fact]
    public void A_request_split_over_writes_and_lines_is_one_request()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Send("{\"execute\": \"echo\",\n \"arguments\": {\"val\": ");
        Assert.True(s.IsQuietFor(TimeSpan.FromMilliseconds(100)));
        s.Send("77}}");

        Assert.Equal(77, s.ReadMessage()["return"]!["val"]!.GetValue<long>());
    }

    [Fact]
    public void Braces_inside_strings_do_not_end_a_request()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Send("""{"execute": "refuse", "id": "}{ \" ]["}""");

        Assert.Equal("}{ \" ][", s.ReadMessage()["id"]!.GetValue<string>());
    }

    [Fact]
    public void Events_reach_only_negotiated_clients()
    {
        using QmpTestSocket fresh = _host.Connect();
        fresh.ReadMessage();
        using QmpTestSocket ready = _host.ConnectNegotiated();

        _host.Server.Emit("STOP");
        _host.Server.Emit("MIGRATION", new JsonObject { ["status"] = "active" });

        JsonObject stop = ready.ReadMessage();
        Assert.Equal("STOP", stop["event"]!.GetValue<string>());
        Assert.Null(stop["data"]);
        Assert.True(stop["timestamp"]!["seconds"]!.GetValue<long>() > 1_600_000_000);
        Assert.InRange(stop["timestamp"]!["microseconds"]!.GetValue<long>(), 0, 999_999);
        JsonObject migration = ready.ReadMessage();
        Assert.Equal("active", migration["data"]!["status"]!.GetValue<string>());
        Assert.True(fresh.IsQuietFor(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public void Events_from_many_threads_arrive_in_one_order_at_every_client()
    {
        using QmpTestSocket a = _host.ConnectNegotiated();
        using QmpTestSocket b = _host.ConnectNegotiated();

        Parallel.For(0, 4, t =>
        {
            for (int i = 0; i < 50; i++)
            {
                _host.Server.Emit("TICK", new JsonObject { ["n"] = (t * 1000) + i });
            }
        });

        var seenA = new List<long>();
        var seenB = new List<long>();
        for (int i = 0; i < 200; i++)
        {
            seenA.Add(a.ReadMessage()["data"]!["n"]!.GetValue<long>());
            seenB.Add(b.ReadMessage()["data"]!["n"]!.GetValue<long>());
        }

        Assert.Equal(seenA, seenB);
        for (int t = 0; t < 4; t++)
        {
            long[] ofThread = seenA.Where(n => n / 1000 == t).ToArray();
            Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)((t * 1000) + i)), ofThread);
        }
    }

    [Fact]
    public void Clients_are_served_at_the_same_time()
    {
        var entered = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        _host.Commands.Add("oob-wait", _ =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(30));
            return null;
        }, allowOob: true);
        // In-band commands run one at a time across clients (QEMU's main loop), so the long one goes out of band.
        using QmpTestSocket blocked = _host.Connect();
        blocked.ReadMessage();
        blocked.Execute("""{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}""");
        using QmpTestSocket other = _host.ConnectNegotiated();

        blocked.Send("""{"exec-oob": "oob-wait", "id": 1}""");
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));
        JsonObject r = other.Execute("""{"execute": "echo", "arguments": {"val": 4}}""");
        release.Set();

        Assert.Equal(4, r["return"]!["val"]!.GetValue<long>());
        Assert.NotNull(blocked.ReadMessage()["return"]);
    }

    [Fact]
    public void Exec_oob_runs_only_commands_that_allow_it()
    {
        _host.Commands.Add("oob-ok", _ => new JsonObject { ["oob"] = true }, allowOob: true);
        using QmpTestSocket s = _host.Connect();
        s.ReadMessage();
        s.Execute("""{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}""");

        JsonObject ok = s.Execute("""{"exec-oob": "oob-ok", "id": 1}""");
        JsonObject refused = s.Execute("""{"exec-oob": "echo", "arguments": {"val": 1}, "id": 2}""");

        Assert.True(ok["return"]!["oob"]!.GetValue<bool>());
        Assert.Equal("The command echo does not support OOB", refused["error"]!["desc"]!.GetValue<string>());
    }

    [Fact]
    public void Queued_replies_are_sent_after_the_client_half_closes()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(_host.SocketPath));
        socket.Send("""{"execute": "qmp_capabilities"}{"execute": "echo", "arguments": {"val": 8}}"""u8.ToArray());
        socket.Shutdown(SocketShutdown.Send);

        socket.ReceiveTimeout = 30000;
        var all = new System.Text.StringBuilder();
        byte[] buffer = new byte[4096];
        for (int n; (n = socket.Receive(buffer)) > 0;)
        {
            all.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, n));
        }

        string[] lines = all.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal("""{"return": {"val": 8}}""", lines[2]);
    }

    [Fact]
    public void Dispose_closes_clients_and_removes_the_socket_file()
    {
        using var host = new QmpTestHost();
        using QmpTestSocket s = host.ConnectNegotiated();
        Assert.True(File.Exists(host.SocketPath));

        host.Server.Dispose();

        Assert.False(File.Exists(host.SocketPath));
        Assert.Equal(0, host.Server.ClientCount);
        Assert.True(s.IsClosedByPeer());
    }

    [Fact]
    public void Start_replaces_a_stale_socket_file()
    {
        string path = Path.Combine(_host.Directory, "stale.sock");
        File.WriteAllText(path, "left over");
        using var server = new QmpServer(QmpEndpoint.Unix(path), new QmpCommandTable());

        server.Start();
        using QmpTestSocket s = QmpTestSocket.Unix(path);

        Assert.NotNull(s.ReadMessage()["QMP"]);
    }

    [Fact]
    public void Serves_tcp_on_loopback()
    {
        using var server = new QmpServer(QmpEndpoint.Tcp("127.0.0.1", 0), _host.Commands);
        server.Start();
        using var s = new QmpTestSocket(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.BoundEndpoint.Port));

        Assert.NotNull(s.ReadMessage()["QMP"]);
        s.Send("""{"execute": "qmp_capabilities"}""");
        s.ReadMessage();
        Assert.Equal(6, s.Execute("""{"execute": "echo", "arguments": {"val": 6}}""")["return"]!["val"]!.GetValue<long>());
    }

    [Fact]
    public void Start_fails_saying_the_directory_is_missing()
    {
        string path = Path.Combine(_host.Directory, "missing", "dir", "q.sock");
        using var server = new QmpServer(QmpEndpoint.Unix(path), new QmpCommandTable());

        IOException e = Assert.Throws<IOException>(server.Start);

        Assert.Equal($"Failed to bind socket to {path}: No such file or directory", e.Message);
    }
}
