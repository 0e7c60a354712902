using Emu.Migration;

namespace Emu.UnitTests.Migration;

/// <summary>Emu's x-postcopy-recover-timeout parameter: default, QMP name, range and refusal wording.</summary>
public class PostcopyRecoverTimeoutTests
{
    [Fact]
    public void DefaultIsZeroWhichWaitsForeverAsQemu()
    {
        Assert.Equal(0UL, new MigrationParameters().PostcopyRecoverTimeoutMs);
        Assert.Equal(0UL, (ulong)MigrationParametersJson.ToQmp(new MigrationParameters())["x-postcopy-recover-timeout"]!);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(2000UL)]
    [InlineData(86_400_000UL)]
    public void ValuesUpToOneDayApplyAndShowInTheQuery(ulong ms)
    {
        Assert.Null(MigrationParametersTests.Apply($$"""{"x-postcopy-recover-timeout": {{ms}}}""", out MigrationParameters p));
        Assert.Equal(ms, p.PostcopyRecoverTimeoutMs);
        Assert.Equal(ms, (ulong)MigrationParametersJson.ToQmp(p)["x-postcopy-recover-timeout"]!);
    }

    [Theory]
    [InlineData("""{"x-postcopy-recover-timeout": 86400001}""", "Parameter 'x_postcopy_recover_timeout' expects an integer in the range of 0 to 86400 seconds")]
    [InlineData("""{"x-postcopy-recover-timeout": -1}""", "Parameter 'x_postcopy_recover_timeout' expects an integer in the range of 0 to 86400 seconds")]
    [InlineData("""{"x-postcopy-recover-timeout": "2s"}""", "Invalid parameter type for 'x-postcopy-recover-timeout', expected: integer")]
    public void OutOfRangeOrMistypedValuesAreRefusedAndChangeNothing(string json, string expected)
    {
        Assert.Equal(expected, MigrationParametersTests.Apply(json, out MigrationParameters p));
        Assert.Equal(new MigrationParameters(), p);
    }
}
