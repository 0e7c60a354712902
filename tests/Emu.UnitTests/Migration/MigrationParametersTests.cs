using System.Text.Json.Nodes;
using Emu.Migration;

namespace Emu.UnitTests.Migration;

public class MigrationParametersTests
{
    internal static string? Apply(string json, out MigrationParameters p) =>
        MigrationParametersJson.TryApply(new MigrationParameters(), JsonNode.Parse(json)!.AsObject(), out p);

    [Fact]
    public void DefaultsAreQemus()
    {
        JsonObject q = MigrationParametersJson.ToQmp(new MigrationParameters());
        Assert.Equal(134217728UL, (ulong)q["max-bandwidth"]!);
        Assert.Equal(300UL, (ulong)q["downtime-limit"]!);
        Assert.Equal(20UL, (ulong)q["cpu-throttle-initial"]!);
        Assert.Equal(10UL, (ulong)q["cpu-throttle-increment"]!);
        Assert.False((bool)q["cpu-throttle-tailslow"]!);
        Assert.Equal(99UL, (ulong)q["max-cpu-throttle"]!);
        Assert.Equal(50UL, (ulong)q["throttle-trigger-threshold"]!);
        Assert.Equal(0UL, (ulong)q["avail-switchover-bandwidth"]!);
        Assert.Equal(0UL, (ulong)q["max-postcopy-bandwidth"]!);
        Assert.Equal(64UL << 20, (ulong)q["xbzrle-cache-size"]!);
    }

    [Theory]
    [InlineData("""{"downtime-limit": 2000001}""", "Parameter 'downtime_limit' expects an integer in the range of 0 to 2000 seconds")]
    [InlineData("""{"downtime-limit": -1}""", "Parameter 'downtime_limit' expects an integer in the range of 0 to 2000 seconds")]
    [InlineData("""{"cpu-throttle-initial": 0}""", "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99")]
    [InlineData("""{"cpu-throttle-initial": 100}""", "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99")]
    [InlineData("""{"cpu-throttle-increment": 100}""", "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99")]
    [InlineData("""{"throttle-trigger-threshold": 0}""", "Parameter 'throttle_trigger_threshold' expects an integer in the range of 1 to 100")]
    [InlineData("""{"max-cpu-throttle": 10}""", "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99")]
    [InlineData("""{"max-cpu-throttle": 100}""", "Parameter 'max_cpu_throttle' expects an integer in the range of cpu_throttle_initial to 99")]
    [InlineData("""{"cpu-throttle-initial": 300}""", "Parameter 'cpu-throttle-initial' expects uint8_t")]
    [InlineData("""{"downtime-limit": "300"}""", "Invalid parameter type for 'downtime-limit', expected: integer")]
    [InlineData("""{"cpu-throttle-tailslow": 1}""", "Invalid parameter type for 'cpu-throttle-tailslow', expected: boolean")]
    [InlineData("""{"no-such-thing": 1}""", "Parameter 'no-such-thing' is unexpected")]
    [InlineData("""{"xbzrle-cache-size": 4095}""", "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size")]
    [InlineData("""{"xbzrle-cache-size": 12288}""", "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size")]
    [InlineData("""{"xbzrle-cache-size": 0}""", "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size")]
    public void OutOfRangeValuesAreRefusedWithQemusWording(string json, string expected)
    {
        Assert.Equal(expected, Apply(json, out MigrationParameters p));
        Assert.Equal(new MigrationParameters(), p);
    }

    [Fact]
    public void TheMergedResultIsValidatedSoOrderDoesNotMatter()
    {
        Assert.Null(Apply("""{"max-cpu-throttle": 30, "cpu-throttle-initial": 30}""", out MigrationParameters p));
        Assert.Equal(30UL, p.MaxCpuThrottlePercent);
        Assert.Equal(30UL, p.CpuThrottleInitialPercent);
    }

    [Fact]
    public void ValidValuesApply()
    {
        Assert.Null(Apply("""{"downtime-limit": 2000000, "max-bandwidth": 0, "cpu-throttle-tailslow": true}""", out MigrationParameters p));
        Assert.Equal(2000000UL, p.DowntimeLimitMs);
        Assert.Equal(0UL, p.MaxBandwidthBytesPerSec);
        Assert.True(p.CpuThrottleTailslow);
        Assert.Null(Apply("""{"xbzrle-cache-size": 4096}""", out p));
        Assert.Equal(4096UL, p.XbzrleCacheSizeBytes);
    }

    [Fact]
    public void CapabilityCombinationsAreChecked()
    {
        var caps = new MigrationCapabilities().With(MigrationCapability.PostcopyPreempt, true);
        Assert.Equal("Postcopy preempt requires postcopy-ram", caps.Validate());
        Assert.Null(caps.With(MigrationCapability.PostcopyRam, true).Validate());
        Assert.True(caps.With(MigrationCapability.PostcopyRam, true).WantsReturnPath);
    }
}
