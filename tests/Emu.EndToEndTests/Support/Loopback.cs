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

    /// <summary>
    /// Plays a raw migration source: connects to a destination's <c>-incoming tcp:127.0.0.1:PORT</c> (retrying
    /// while it is not listening yet), writes <paramref name="stream"/>, closes its sending half so the destination
    /// sees the end of the stream, and waits (bounded) for the destination to close its side. A destination that
    /// refuses the stream early may reset the connection; that is not an error here.
    /// </summary>
    public static void SendAndClose(int port, byte[] stream, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        using Socket socket = ConnectWithRetry(port, deadline);
        try
        {
            socket.Send(stream);
            socket.Shutdown(SocketShutdown.Send);
            socket.ReceiveTimeout = (int)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds);
            byte[] sink = new byte[4096];
            while (socket.Receive(sink) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
        {
            // The destination gave up on the stream before reading all of it.
        }
    }

    private static Socket ConnectWithRetry(int port, DateTime deadline)
    {
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Connect(IPAddress.Loopback, port);
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                Thread.Sleep(50);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }
}
