using System.Text.Json.Nodes;
using Emu.Migration.Precopy;
using Emu.Monitor;
using Emu.Monitor.Commands;
using QmpTableCaller = Emu.UnitTests.Monitor.QmpTableCaller;
using Emu.UnitTests.Migration;

namespace Emu.UnitTests.DirtyRate;

/// <summary>
/// The dirty-rate QMP commands' argument checks: each bad input gets one GenericError with QEMU's text, and the
/// capability and parameters that go with them.
/// </summary>
public sealed class DirtyRateCommandsTests : IDisposable
{
    private readonly FakeMachine _machine = new(("pc.ram", 1024 * 4096));
    private readonly QmpCommandTable _table = new();

    public DirtyRateCommandsTests()
    {
        var mig = new MigrationController(_machine, (_, _) => { });
        MigrationCommands.Register(_table, mig);
        DirtyRateCommands.Register(_table, mig);
    }

    public void Dispose() => _machine.Dispose();

    private JsonNode? Call(string name, string args = "{}") => new QmpTableCaller(_table).Call(name, args);

    private string Error(string name, string args = "{}") => new QmpTableCaller(_table).Error(name, args);

    [Fact]
    public void SetAndCancelVcpuDirtyLimitRefuseBadArguments()
    {
        Assert.Equal("Parameter 'dirty-rate' is missing", Error("set-vcpu-dirty-limit"));
        Assert.Equal("Parameter 'dirty-rate' expects uint64", Error("set-vcpu-dirty-limit", """{"dirty-rate": -1}"""));
        Assert.Equal("Parameter 'dirty-rate' expects integer", Error("set-vcpu-dirty-limit", """{"dirty-rate": "fast"}"""));
        Assert.Equal("Parameter 'cpu-index' expects integer", Error("set-vcpu-dirty-limit", """{"dirty-rate": 1, "cpu-index": 0.5}"""));
        Assert.Equal("incorrect cpu index specified", Error("set-vcpu-dirty-limit", """{"dirty-rate": 1, "cpu-index": 1}"""));
        Assert.Equal("incorrect cpu index specified", Error("set-vcpu-dirty-limit", """{"dirty-rate": 1, "cpu-index": -1}"""));
        Assert.Equal("Parameter 'rate' is unexpected", Error("set-vcpu-dirty-limit", """{"rate": 1}"""));
        Assert.Equal("incorrect cpu index specified", Error("cancel-vcpu-dirty-limit", """{"cpu-index": 2}"""));
        Assert.False(_machine.DirtyLimit.InService);
    }

    [Fact]
    public void SetQueryAndCancelVcpuDirtyLimit()
    {
        Assert.Empty(Call("query-vcpu-dirty-limit")!.AsArray());
        Assert.Null(Call("set-vcpu-dirty-limit", """{"dirty-rate": 12, "cpu-index": 0}"""));
        Assert.Equal("""[{"cpu-index":0,"limit-rate":12,"current-rate":0}]""", Call("query-vcpu-dirty-limit")!.ToJsonString());

        // A rate of 0 cancels, as QEMU's.
        Assert.Null(Call("set-vcpu-dirty-limit", """{"dirty-rate": 0}"""));
        Assert.Empty(Call("query-vcpu-dirty-limit")!.AsArray());
        Assert.Null(Call("set-vcpu-dirty-limit", """{"dirty-rate": 3}"""));
        Assert.Null(Call("cancel-vcpu-dirty-limit"));
        Assert.False(_machine.DirtyLimit.InService);
    }

    [Theory]
    [InlineData("{}", "Parameter 'calc-time' is missing")]
    [InlineData("""{"calc-time": "1"}""", "Parameter 'calc-time' expects integer")]
    [InlineData("""{"calc-time": 0}""", "Calculation time is out of range [50ms, 60000ms].")]
    [InlineData("""{"calc-time": 61}""", "Calculation time is out of range [50ms, 60000ms].")]
    [InlineData("""{"calc-time": 49, "calc-time-unit": "millisecond"}""", "Calculation time is out of range [50ms, 60000ms].")]
    [InlineData("""{"calc-time": 9223372036854775807}""", "Calculation time is out of range [50ms, 60000ms].")]
    [InlineData("""{"calc-time": 1, "calc-time-unit": "ms"}""", "Parameter 'calc-time-unit' does not accept value 'ms'")]
    [InlineData("""{"calc-time": 1, "mode": "bogus"}""", "Parameter 'mode' does not accept value 'bogus'")]
    [InlineData("""{"calc-time": 1, "mode": "dirty-ring", "sample-pages": 256}""", "sample-pages is used only in page-sampling mode")]
    [InlineData("""{"calc-time": 1, "sample-pages": 127}""", "sample-pages is out of range[128, 16384].")]
    [InlineData("""{"calc-time": 1, "sample-pages": 16385}""", "sample-pages is out of range[128, 16384].")]
    [InlineData("""{"calc-time": 1, "calc-time-units": "second"}""", "Parameter 'calc-time-units' is unexpected")]
    public void CalcDirtyRateRefusesBadArgumentsWithOneError(string args, string expected)
    {
        Assert.Equal(expected, Error("calc-dirty-rate", args));
        Assert.Equal("unstarted", (string)Call("query-dirty-rate")!["status"]!);
    }

    [Fact]
    public void QueryDirtyRateShowsTheMeasurementInTheUnitAsked()
    {
        JsonObject before = Call("query-dirty-rate")!.AsObject();
        Assert.Equal("""{"status":"unstarted","start-time":0,"calc-time":0,"calc-time-unit":"second","sample-pages":0,"mode":"page-sampling"}""",
            before.ToJsonString());

        Assert.Null(Call("calc-dirty-rate", """{"calc-time": 200, "calc-time-unit": "millisecond", "mode": "dirty-bitmap"}"""));
        Assert.Equal("the dirty rate is already being measured.", Error("calc-dirty-rate", """{"calc-time": 1}"""));
        JsonObject after = WaitForMeasured("""{"calc-time-unit": "millisecond"}""");
        Assert.Equal("dirty-bitmap", (string)after["mode"]!);
        Assert.Equal("millisecond", (string)after["calc-time-unit"]!);
        Assert.InRange((long)after["calc-time"]!, 200, 10_000);
        Assert.Equal(0, (long)after["sample-pages"]!);
        Assert.Equal(0, (long)after["dirty-rate"]!);
        Assert.Null(after["vcpu-dirty-rate"]);
        Assert.Equal(0, (long)Call("query-dirty-rate")!["calc-time"]!);

        Assert.Null(Call("calc-dirty-rate", """{"calc-time": 50, "calc-time-unit": "millisecond", "mode": "dirty-ring"}"""));
        JsonObject ring = WaitForMeasured("{}");
        Assert.Equal("""[{"id":0,"dirty-rate":0}]""", ring["vcpu-dirty-rate"]!.ToJsonString());
        Assert.False(_machine.RamBlocks[0].DirtyLog.IsEnabled(Emu.Machine.Memory.DirtyClient.DirtyRate));
    }

    private JsonObject WaitForMeasured(string args)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        JsonObject info;
        while ((string)(info = Call("query-dirty-rate", args)!.AsObject())["status"]! != "measured")
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), info.ToJsonString());
            Thread.Sleep(10);
        }

        return info;
    }

    [Fact]
    public void DirtyLimitCapabilityAndParametersAreQemus()
    {
        JsonObject p = Call("query-migrate-parameters")!.AsObject();
        Assert.Equal(1UL, (ulong)p["vcpu-dirty-limit"]!);
        Assert.Equal(1000UL, (ulong)p["x-vcpu-dirty-limit-period"]!);
        Assert.Equal("Parameter 'vcpu_dirty_limit' is invalid, it must greater than 1 MB/s",
            Error("migrate-set-parameters", """{"vcpu-dirty-limit": 0}"""));
        Assert.Equal("Parameter 'x-vcpu-dirty-limit-period' expects a value between 1 and 1000",
            Error("migrate-set-parameters", """{"x-vcpu-dirty-limit-period": 1001}"""));
        Assert.Equal("Parameter 'x-vcpu-dirty-limit-period' expects a value between 1 and 1000",
            Error("migrate-set-parameters", """{"x-vcpu-dirty-limit-period": 0}"""));
        Assert.Null(Call("migrate-set-parameters", """{"vcpu-dirty-limit": 8, "x-vcpu-dirty-limit-period": 250}"""));

        Assert.Null(Call("migrate-set-capabilities", """{"capabilities": [{"capability": "dirty-limit", "state": true}]}"""));
        Assert.Equal("dirty-limit conflicts with auto-converge either of then available currently",
            Error("migrate-set-capabilities", """{"capabilities": [{"capability": "auto-converge", "state": true}]}"""));
    }
}
