using System.Net.Sockets;

namespace Emu.Migration.Transport;

/// <summary>
/// The incoming side of a tcp: or unix: URI: listens, accepts one connection (QEMU accepts the first channel and
/// stops listening), and can be closed from another thread to abandon the wait.
/// </summary>
public sealed class MigrationListener : IDisposable
{
    private readonly Socket _socket;
    private readonly string? _unixPath;

    private MigrationListener(Socket socket, string? unixPath)
    {
        _socket = socket;
        _unixPath = unixPath;
    }

    /// <summary>
    /// Connections the kernel queues before they are accepted: the main channel and the multifd channels a source
    /// opens at once (QEMU listens with the channel count + 1). A SYN past a full tcp queue is dropped and resent a
    /// second later, which would add that second to the setup.
    /// </summary>
    public const int Backlog = 16;

    public static MigrationListener Listen(MigrationUri uri)
    {
        if (uri.Kind == MigrationUriKind.Tcp)
        {
            var ep = uri.TcpEndPoint();
            var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            ListeningSocket.ReuseAddressOnly(s);
            try
            {
                s.Bind(ep);
            }
            catch
            {
                s.Dispose();
                throw;
            }

            s.Listen(Backlog);
            return new MigrationListener(s, null);
        }

        if (uri.Kind == MigrationUriKind.Unix)
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                ListeningSocket.BindUnix(s, uri.Path);
            }
            catch
            {
                s.Dispose();
                throw;
            }

            s.Listen(Backlog);
            return new MigrationListener(s, uri.Path);
        }

        throw new ArgumentException($"transport: cannot listen on '{uri}'", nameof(uri));
    }

    /// <summary>The bound port of a tcp: listener (useful with port 0 in tests).</summary>
    public int Port => (_socket.LocalEndPoint as System.Net.IPEndPoint)?.Port ?? 0;

    public MigrationConnection Accept()
    {
        Socket c = _socket.Accept();
        if (c.AddressFamily != AddressFamily.Unix)
        {
            c.NoDelay = true;
        }

        return MigrationConnection.FromSocket(c);
    }

    public void Dispose()
    {
        _socket.Dispose();
        if (_unixPath != null)
        {
            try
            {
                File.Delete(_unixPath);
            }
            catch (IOException)
            {
                // Best effort: the socket file is only a name.
            }
        }
    }
}
