using Emu.Monitor.Server;

namespace Emu.UnitTests.Monitor;

public sealed class QmpEndpointTests
{
    [Theory]
    [InlineData("unix:/tmp/a.qmp,server,wait=off", "unix:/tmp/a.qmp")]
    [InlineData("unix:/tmp/a.qmp,server=on,wait=off", "unix:/tmp/a.qmp")]
    [InlineData("unix:/tmp/a.qmp,server,nowait", "unix:/tmp/a.qmp")]
    [InlineData("tcp:127.0.0.1:4444,server,wait=off", "tcp:127.0.0.1:4444")]
    [InlineData("tcp:localhost:0,server=on,wait=off", "tcp:localhost:0")]
    [InlineData("tcp:[::1]:4444,server,wait=off", "tcp:::1:4444")]
    public void Parses_QEMUs_spellings(string spec, string expected)
    {
        Assert.Equal(expected, QmpEndpoint.Parse(spec).ToString());
    }

    [Theory]
    [InlineData("unix:/tmp/a.qmp", "-qmp: 'unix:/tmp/a.qmp': only server mode is supported, expected 'server' (as unix:PATH,server,wait=off)")]
    [InlineData("unix:/tmp/a.qmp,server,wait=on", "-qmp: 'unix:/tmp/a.qmp,server,wait=on': wait=on is not supported, expected wait=off")]
    [InlineData("unix:,server,wait=off", "-qmp: 'unix:,server,wait=off': empty socket path, expected unix:PATH")]
    [InlineData("tcp:127.0.0.1,server,wait=off", "-qmp: 'tcp:127.0.0.1,server,wait=off': expected tcp:HOST:PORT with a port from 0 to 65535")]
    [InlineData("tcp:127.0.0.1:70000,server,wait=off", "-qmp: 'tcp:127.0.0.1:70000,server,wait=off': expected tcp:HOST:PORT with a port from 0 to 65535")]
    [InlineData("tcp:example.com:1,server,wait=off", "-qmp: 'tcp:example.com:1,server,wait=off': host 'example.com' is not an IP address or localhost")]
    [InlineData("stdio", "-qmp: 'stdio': only server mode is supported, expected 'server' (as unix:PATH,server,wait=off)")]
    [InlineData("pipe:x,server", "-qmp: 'pipe:x,server': expected unix:PATH,server,wait=off or tcp:HOST:PORT,server,wait=off")]
    [InlineData("unix:/a,server,telnet", "-qmp: 'unix:/a,server,telnet': unknown option 'telnet', expected server and wait=off")]
    public void Refuses_malformed_specs_naming_the_option(string spec, string message)
    {
        FormatException e = Assert.Throws<FormatException>(() => QmpEndpoint.Parse(spec));

        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Refuses_a_socket_path_longer_than_sun_path()
    {
        string spec = $"unix:/{new string('a', 107)},server,wait=off";

        Assert.False(QmpEndpoint.TryParse(spec, out _, out string error));
        Assert.EndsWith("socket path is 108 bytes, expected at most 107", error, StringComparison.Ordinal);
    }
}
