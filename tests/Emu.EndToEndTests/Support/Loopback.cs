using System.Net;
using System.Net.Sockets;

namespace Emu.EndToEndTests.Support;

/// <summary>Loopback networking for tests that run several emu processes.</summary>
public static class Loopback
{
    /// <summary>
    /// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it, so parallel tests do not collide
    /// the way a fixed port would).
    /// </summary>
    public static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
