using System.Text.Json.Nodes;
using Emu.Migration.Precopy;
using Emu.Monitor;
using Emu.Monitor.Commands;
using Emu.UnitTests.Monitor;

namespace Emu.UnitTests.Migration;

public sealed class MigrationCommandsTests : IDisposable
{
    private readonly FakeMachine _machine = new(("pc.ram", 16 * 4096));
    private readonly QmpCommandTable _table = new();

    public MigrationCommandsTests() => MigrationCommands.Register(_table, new MigrationController(_machine, (_, _) => { }));

    public void Dispose() => _machine.Dispose();

    private JsonNode? Call(string name, string args = "{}") => new QmpTableCaller(_table).Call(name, args);

    private string Error(string name, string args = "{}") => new QmpTableCaller(_table).Error(name, args);

    [Fact]
    public void RegistersQemusCommandNames()
    {
        // QEMU's names, and Emu's own report under QEMU's x- prefix for what is not QEMU's.
        string[] expected = ["migrate", "migrate-incoming", "migrate_cancel", "migrate-continue", "query-migrate",
            "migrate-set-capabilities", "query-migrate-capabilities", "migrate-set-parameters", "query-migrate-parameters",
            "migrate-start-postcopy", "migrate-pause", "migrate-recover", "x-emu-migration-report"];
        Assert.Equal(expected.Order(), _table.Names.Order());
    }

    [Fact]
    public void RefusalsAreGenericErrorsWithQemusText()
    {
        Assert.Equal("Parameter 'uri' is missing", Error("migrate"));
        Assert.Equal("Invalid parameter type for 'uri', expected: string", Error("migrate", """{"uri": 5}"""));
        Assert.Equal("Parameter 'uri' expects a valid migration protocol", Error("migrate", """{"uri": "exec:true"}"""));
        Assert.Equal("Parameter 'downtime_limit' expects an integer in the range of 0 to 2000 seconds",
            Error("migrate-set-parameters", """{"downtime-limit": 3000000}"""));
        Assert.Equal("Parameter 'capabilities' is missing", Error("migrate-set-capabilities"));
        Assert.Equal("Parameter 'state' is missing", Error("migrate-set-capabilities", """{"capabilities": [{"capability": "auto-converge"}]}"""));
        Assert.Equal("For use with '-incoming defer'", Error("migrate-incoming", """{"uri": "tcp:127.0.0.1:1"}"""));
    }

    [Fact]
    public void CapabilitiesAndParametersRoundTrip()
    {
        Assert.Null(Call("migrate-set-capabilities", """{"capabilities": [{"capability": "auto-converge", "state": true}]}"""));
        var caps = Call("query-migrate-capabilities")!.AsArray();
        Assert.True((bool)caps.First(c => (string)c!["capability"]! == "auto-converge")!["state"]!);
        Assert.Null(Call("migrate-set-parameters", """{"max-bandwidth": 33554432, "cpu-throttle-increment": 5}"""));
        var p = Call("query-migrate-parameters")!.AsObject();
        Assert.Equal(33554432UL, (ulong)p["max-bandwidth"]!);
        Assert.Equal(5UL, (ulong)p["cpu-throttle-increment"]!);
        Assert.Empty(Call("query-migrate")!.AsObject());
        Assert.Null(Call("migrate_cancel"));
    }
}
