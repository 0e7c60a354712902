using Emu.Configuration;

namespace Emu.UnitTests.Configuration;

public sealed class BootOptionsTests
{
    [Fact]
    public void LegacyLettersAreTheOrder()
    {
        BootOptions b = BootOptions.Parse("dc");
        Assert.Equal('d', b.FirstDevice);
        Assert.False(b.Menu);
        Assert.Equal(-1, b.RebootTimeoutMs);
    }

    [Fact]
    public void PropertiesSetTheMenuItsWaitAndTheRebootTimeout()
    {
        BootOptions b = BootOptions.Parse("order=c,menu=on,splash-time=5000,reboot-timeout=1000,strict=off");
        Assert.Equal(new BootOptions("c", true, 5000, 1000), b);
    }

    [Theory]
    [InlineData("x", "is not a boot order of a, c, d, n")]
    [InlineData("menu=yes", "menu must be on or off, not 'yes'")]
    [InlineData("splash-time=70000", "splash-time must be milliseconds from 0 to 65535, not '70000'")]
    [InlineData("order=c,color=red", "'color' is not a -boot property")]
    public void BadSpecsAreRefusedNamingWhat(string spec, string message)
    {
        Assert.Contains(message, Assert.Throws<ConfigurationException>(() => BootOptions.Parse(spec)).Message);
    }
}
