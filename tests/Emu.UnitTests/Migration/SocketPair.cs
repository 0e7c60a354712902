using System.Net.Sockets;

namespace Emu.UnitTests.Migration;

/// <summary>Two connected loopback sockets.</summary>
internal sealed class SocketPair : IDisposable
{
    public SocketPair()
    {
        using var l = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        l.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        l.Listen(1);
        A = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        A.Connect(l.LocalEndPoint!);
        B = l.Accept();
    }

    public Socket A { get; }

    public Socket B { get; }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
