using System.Net;
using System.Net.Sockets;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// A loopback TCP proxy in front of a destination: forwards every connection both ways until <see cref="Break"/>
/// closes all of them at once (a network failure mid-postcopy), after which it refuses nothing new but forwards
/// nothing old.
/// </summary>
public sealed class BreakableProxy : IDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly List<Socket> _sockets = [];
    private readonly object _lock = new();
    private readonly int? _socketBufferBytes;
    private long _bytesForwarded;

    /// <param name="targetPort">The destination's loopback port.</param>
    /// <param name="socketBufferBytes">
    /// Caps both kernel buffers of the proxy's own sockets: a proxy meant only to count bytes should add as little
    /// queue as it can, or a sender that caps its own buffers (Emu's multifd channels) runs that much further ahead
    /// of its destination than without the proxy. Null leaves the kernel's autotuning.
    /// </param>
    public BreakableProxy(int targetPort, int? socketBufferBytes = null)
    {
        _targetPort = targetPort;
        _socketBufferBytes = socketBufferBytes;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        new Thread(AcceptLoop) { IsBackground = true, Name = "e2e/proxy" }.Start();
    }

    public int Port { get; }

    /// <summary>Bytes forwarded from the connecting side to the target, over every connection (a migration's wire bytes).</summary>
    public long BytesForwarded => Interlocked.Read(ref _bytesForwarded);

    /// <summary>Connections forwarded so far.</summary>
    public int Connections { get; private set; }

    /// <summary>Ends every connection forwarded so far, each end seeing <paramref name="how"/>.</summary>
    public void Cut(LinkCut how)
    {
        lock (_lock)
        {
            foreach (Socket s in _sockets)
            {
                End(s, how);
            }

            _sockets.Clear();
        }
    }

    /// <summary>
    /// Ends only the connection accepted <paramref name="index"/>-th (from 0), both of its ends seeing
    /// <paramref name="how"/>: one multifd channel of several, say.
    /// </summary>
    public void Cut(int index, LinkCut how)
    {
        lock (_lock)
        {
            End(_sockets[2 * index], how);
            End(_sockets[(2 * index) + 1], how);
        }
    }

    private static void End(Socket s, LinkCut how)
    {
        try
        {
            if (how == LinkCut.Fin)
            {
                // The FIN goes out before the close, whatever is still unread.
                s.Shutdown(SocketShutdown.Send);
            }
            else
            {
                s.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The end already went away.
        }

        s.Dispose();
    }

    public void Break()
    {
        lock (_lock)
        {
            foreach (Socket s in _sockets)
            {
                s.Dispose();
            }

            _sockets.Clear();
        }
    }

    private void AcceptLoop()
    {
        try
        {
            while (true)
            {
                Socket client = _listener.AcceptSocket();
                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                if (_socketBufferBytes is { } bytes)
                {
                    foreach (Socket s in new[] { client, server })
                    {
                        s.ReceiveBufferSize = bytes;
                        s.SendBufferSize = bytes;
                    }
                }

                server.Connect(IPAddress.Loopback, _targetPort);
                lock (_lock)
                {
                    _sockets.Add(client);
                    _sockets.Add(server);
                    Connections++;
                }

                Pump(client, server, forward: true);
                Pump(server, client, forward: false);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Disposed: the proxy is gone.
        }
    }

    private void Pump(Socket from, Socket to, bool forward) => new Thread(() =>
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = from.Receive(buffer)) > 0)
            {
                to.Send(buffer.AsSpan(0, n));
                if (forward)
                {
                    Interlocked.Add(ref _bytesForwarded, n);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Broken on purpose or closed by an end.
        }

        try
        {
            to.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
    })
    { IsBackground = true, Name = "e2e/proxy-pump" }.Start();

    public void Dispose()
    {
        _listener.Stop();
        Break();
    }
}
