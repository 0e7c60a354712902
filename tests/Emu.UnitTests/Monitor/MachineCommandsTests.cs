using System.Text.Json.Nodes;
using Emu.Machine.Board;
using Emu.Machine.Memory;
using Emu.Monitor.Commands;
using Emu.Monitor.Events;

namespace Emu.UnitTests.Monitor;

public sealed class MachineCommandsTests : IDisposable
{
    internal const ulong RamBytes = 64 * 1024;

    private readonly FakeMachine _machine = new();
    private readonly RamBlock _ram = new("pc.ram", RamBytes);
    private readonly AddressSpace _memory = new();
    private readonly List<string> _calls = [];
    private readonly List<ScreendumpRequest> _screendumps = [];
    private readonly QmpTestHost _host;
    private readonly RunStateEvents _events;

    public MachineCommandsTests()
    {
        _memory.AddRam("ram", 0, _ram, 0, RamBytes);
        var control = new MachineControl
        {
            Quit = () => _calls.Add("quit"),
            SystemReset = () => _calls.Add("reset"),
            SetAutostart = on => _calls.Add($"autostart={on}"),
            Screendump = _screendumps.Add,
            Name = "guest-1",
        };
        _host = new QmpTestHost(table => MachineCommands.Register(table, _machine, _memory, control));
        _events = new RunStateEvents(_machine, _host.Server);
    }

    public void Dispose()
    {
        _events.Dispose();
        _host.Dispose();
        _ram.Dispose();
    }

    [Fact]
    public void Query_status_reflects_the_run_state()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject running = s.Execute("""{"execute": "query-status"}""");
        _machine.SetRunState(RunState.PostMigrate);
        Assert.Equal("STOP", s.ReadMessage()["event"]!.GetValue<string>());
        JsonObject after = s.Execute("""{"execute": "query-status"}""");

        Assert.Equal("""{"running":true,"singlestep":false,"status":"running"}""", running["return"]!.ToJsonString());
        Assert.Equal("""{"running":false,"singlestep":false,"status":"postmigrate"}""", after["return"]!.ToJsonString());
    }

    [Fact]
    public void Stop_and_cont_change_the_state_and_emit_STOP_then_RESUME()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Send("""{"execute": "stop", "id": 1}""");
        JsonObject stopEvent = s.ReadMessage();
        JsonObject stopReply = s.ReadMessage();
        string paused = s.Execute("""{"execute": "query-status"}""")["return"]!["status"]!.GetValue<string>();
        s.Send("""{"execute": "cont", "id": 2}""");
        JsonObject resumeEvent = s.ReadMessage();
        JsonObject contReply = s.ReadMessage();

        Assert.Equal("STOP", stopEvent["event"]!.GetValue<string>());
        Assert.Equal(1, stopReply["id"]!.GetValue<int>());
        Assert.Equal("paused", paused);
        Assert.Equal("RESUME", resumeEvent["event"]!.GetValue<string>());
        Assert.Equal(2, contReply["id"]!.GetValue<int>());
        Assert.Equal(RunState.Running, _machine.RunState);
    }

    [Fact]
    public void Stop_when_paused_and_cont_when_running_do_nothing()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Execute("""{"execute": "cont"}""");
        s.Send("""{"execute": "stop"}""");
        s.ReadMessage();
        s.ReadMessage();
        s.Execute("""{"execute": "stop"}""");

        Assert.Equal(0, _machine.StartCalls);
        Assert.Equal(1, _machine.StopCalls);
        Assert.True(s.IsQuietFor(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void Stop_and_cont_during_inmigrate_only_set_autostart()
    {
        _machine.SetRunState(RunState.InMigrate);
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Execute("""{"execute": "stop"}""");
        s.Execute("""{"execute": "cont"}""");

        Assert.Equal(["autostart=False", "autostart=True"], _calls);
        Assert.Equal(RunState.InMigrate, _machine.RunState);
    }

    [Theory]
    [InlineData(RunState.Shutdown, "Resetting the Virtual Machine is required")]
    [InlineData(RunState.InternalError, "Resetting the Virtual Machine is required")]
    [InlineData(RunState.FinishMigrate, "Migration is not finalized yet")]
    public void Cont_is_refused_where_QEMU_refuses_it(RunState state, string desc)
    {
        _machine.SetRunState(state);
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute("""{"execute": "cont"}""");

        Assert.Equal(desc, r["error"]!["desc"]!.GetValue<string>());
        Assert.Equal(state, _machine.RunState);
    }

    [Fact]
    public void Quit_and_system_reset_call_the_machine_control()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        Assert.Equal("{}", s.Execute("""{"execute": "system_reset"}""")["return"]!.ToJsonString());
        Assert.Equal("{}", s.Execute("""{"execute": "quit"}""")["return"]!.ToJsonString());

        Assert.Equal(["reset", "quit"], _calls);
    }

    [Fact]
    public void Shutdown_and_reset_events_say_who_asked()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        _events.EmitReset(ShutdownCause.HostQmpSystemReset);
        _events.EmitShutdown(ShutdownCause.GuestShutdown);

        JsonObject reset = s.ReadMessage();
        JsonObject shutdown = s.ReadMessage();
        Assert.Equal("RESET", reset["event"]!.GetValue<string>());
        Assert.Equal("""{"guest":false,"reason":"host-qmp-system-reset"}""", reset["data"]!.ToJsonString());
        Assert.Equal("SHUTDOWN", shutdown["event"]!.GetValue<string>());
        Assert.Equal("""{"guest":true,"reason":"guest-shutdown"}""", shutdown["data"]!.ToJsonString());
    }

    [Fact]
    public void Pmemsave_writes_guest_physical_memory()
    {
        byte[] pattern = new byte[3 * RamBlock.PageSize];
        new Random(5).NextBytes(pattern);
        _memory.Write(0x1000, pattern);
        string file = Path.Combine(_host.Directory, "mem.bin");
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute($$"""{"execute": "pmemsave", "arguments": {"val": 4196, "size": 8000, "filename": "{{file}}" } }""");

        Assert.Equal("{}", r["return"]!.ToJsonString());
        Assert.Equal(pattern.AsSpan(4196 - 0x1000, 8000).ToArray(), File.ReadAllBytes(file));
    }

    [Fact]
    public void Pmemsave_of_zero_bytes_makes_an_empty_file()
    {
        string file = Path.Combine(_host.Directory, "empty.bin");
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Execute($$"""{"execute": "pmemsave", "arguments": {"val": 0, "size": 0, "filename": "{{file}}" } }""");

        Assert.Empty(File.ReadAllBytes(file));
    }

    [Theory]
    [InlineData("\"val\": 0, \"size\": -1", "Parameter 'size' expects a non-negative integer, found -1")]
    [InlineData("\"val\": 65535, \"size\": 2", "pmemsave: range 0xffff+0x2 runs past the end of guest-physical memory at 0x10000")]
    [InlineData("\"val\": 18446744073709551615, \"size\": 2", "pmemsave: range 0xffffffffffffffff+0x2 runs past the end of guest-physical memory at 0x10000")]
    [InlineData("\"val\": -1, \"size\": 2", "Parameter 'val' expects uint64")]
    [InlineData("\"val\": \"0\", \"size\": 2", "Parameter 'val' expects integer")]
    [InlineData("\"size\": 2", "Parameter 'val' is missing")]
    public void Pmemsave_refuses_bad_ranges(string range, string desc)
    {
        string file = Path.Combine(_host.Directory, "bad.bin");
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute($$"""{"execute": "pmemsave", "arguments": { {{range}}, "filename": "{{file}}" } }""");

        Assert.Equal("GenericError", r["error"]!["class"]!.GetValue<string>());
        Assert.Equal(desc, r["error"]!["desc"]!.GetValue<string>());
        Assert.False(File.Exists(file));
    }

    [Fact]
    public void Pmemsave_refuses_a_path_it_cannot_create()
    {
        string file = Path.Combine(_host.Directory, "no", "such", "dir.bin");
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute($$"""{"execute": "pmemsave", "arguments": {"val": 0, "size": 16, "filename": "{{file}}" } }""");

        Assert.Equal($"Could not open '{file}': No such file or directory", r["error"]!["desc"]!.GetValue<string>());
    }

    [Fact]
    public void Query_name_version_and_commands()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        Assert.Equal("""{"name":"guest-1"}""", s.Execute("""{"execute": "query-name"}""")["return"]!.ToJsonString());
        Assert.Equal(
            """{"qemu":{"micro":0,"minor":2,"major":7},"package":"Emu"}""",
            s.Execute("""{"execute": "query-version"}""")["return"]!.ToJsonString());
        JsonArray commands = s.Execute("""{"execute": "query-commands"}""")["return"]!.AsArray();
        Assert.Contains(commands, c => c!["name"]!.GetValue<string>() == "pmemsave");
        Assert.Equal(10, commands.Count);
    }

    [Fact]
    public void Screendump_passes_the_request_to_the_display()
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        s.Execute("""{"execute": "screendump", "arguments": {"filename": "a.ppm"}}""");
        s.Execute("""{"execute": "screendump", "arguments": {"filename": "b.png", "format": "png", "device": "vga", "head": 0}}""");

        Assert.Equal(
            [new ScreendumpRequest("a.ppm", ScreendumpFormat.Ppm, null, null), new ScreendumpRequest("b.png", ScreendumpFormat.Png, "vga", 0)],
            _screendumps);
    }

    [Theory]
    [InlineData("\"format\": \"jpeg\"", "Parameter 'format' does not accept value 'jpeg'")]
    [InlineData("\"head\": 1", "'head' must be specified together with 'device'")]
    public void Screendump_refuses_bad_arguments(string extra, string desc)
    {
        using QmpTestSocket s = _host.ConnectNegotiated();

        JsonObject r = s.Execute($$"""{"execute": "screendump", "arguments": {"filename": "x", {{extra}} } }""");

        Assert.Equal(desc, r["error"]!["desc"]!.GetValue<string>());
        Assert.Empty(_screendumps);
    }
}
