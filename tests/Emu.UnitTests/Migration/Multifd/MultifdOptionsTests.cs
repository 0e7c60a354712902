using System.Text.Json.Nodes;
using Emu.Migration;
using Emu.Migration.Multifd;

namespace Emu.UnitTests.Migration.Multifd;

/// <summary>The multifd capability and parameters: QEMU's names, defaults, ranges and combination rules.</summary>
public class MultifdOptionsTests
{
    [Fact]
    public void DefaultsAreQemus()
    {
        JsonObject q = MigrationParametersJson.ToQmp(new MigrationParameters());
        Assert.Equal(2UL, (ulong)q["multifd-channels"]!);
        Assert.Equal("none", (string)q["multifd-compression"]!);
        Assert.Equal(1UL, (ulong)q["multifd-zlib-level"]!);
        Assert.Equal(1UL, (ulong)q["multifd-zstd-level"]!);
        Assert.Contains("multifd", MigrationCapabilityNames.All);
    }

    [Fact]
    public void SetParametersTakesQemusNames()
    {
        Assert.Null(MigrationParametersTests.Apply("""{"multifd-channels": 4, "multifd-compression": "zstd", "multifd-zstd-level": 20, "multifd-zlib-level": 9}""", out MigrationParameters p));
        Assert.Equal((4UL, MultifdCompression.Zstd, 20UL, 9UL), (p.MultifdChannels, p.MultifdCompression, p.MultifdZstdLevel, p.MultifdZlibLevel));
        Assert.Equal("zstd", (string)MigrationParametersJson.ToQmp(p)["multifd-compression"]!);
    }

    [Theory]
    [InlineData("""{"multifd-channels": 0}""", "Parameter 'multifd_channels' expects a value between 1 and 255")]
    [InlineData("""{"multifd-channels": 256}""", "Parameter 'multifd-channels' expects uint8_t")]
    [InlineData("""{"multifd-zlib-level": 10}""", "Parameter 'multifd_zlib_level' expects a value between 0 and 9")]
    [InlineData("""{"multifd-zstd-level": 21}""", "Parameter 'multifd_zstd_level' expects a value between 0 and 20")]
    [InlineData("""{"multifd-compression": "lz4"}""", "Parameter 'multifd-compression' does not accept value 'lz4'")]
    [InlineData("""{"multifd-compression": 1}""", "Invalid parameter type for 'multifd-compression', expected: string")]
    public void BadValuesAreRefusedInQemusWords(string json, string message) =>
        Assert.Equal(message, MigrationParametersTests.Apply(json, out _));

    [Theory]
    [InlineData(new[] { MigrationCapability.Multifd }, null)]
    [InlineData(new[] { MigrationCapability.Multifd, MigrationCapability.PostcopyRam }, null)]
    [InlineData(new[] { MigrationCapability.Multifd, MigrationCapability.AutoConverge, MigrationCapability.ReturnPath }, null)]
    [InlineData(new[] { MigrationCapability.Multifd, MigrationCapability.Xbzrle }, "Multifd is not compatible with xbzrle")]
    [InlineData(new[] { MigrationCapability.Multifd, MigrationCapability.PostcopyRam, MigrationCapability.PostcopyPreempt }, "Postcopy preempt is not compatible with multifd")]
    public void CapabilityCombinations(MigrationCapability[] set, string? error)
    {
        var caps = new MigrationCapabilities(0);
        foreach (MigrationCapability c in set)
        {
            caps = caps.With(c, true);
        }

        Assert.Equal(error, caps.Validate());
    }
}
