using System.Net.Sockets;
using IoStream = System.IO.Stream;

namespace Emu.Migration.Transport;

/// <summary>
/// One open migration channel: a connected socket (both directions: the stream one way, the return path the
/// other) or a snapshot file. <see cref="Close"/> may come from any thread and makes blocked I/O fail (cancel).
/// </summary>
public sealed class MigrationConnection : IDisposable
{
    private readonly Socket? _socket;
    private int _closed;

    private MigrationConnection(IoStream stream, Socket? socket)
    {
        Stream = stream;
        _socket = socket;
    }

    public IoStream Stream { get; }

    /// <summary>True for sockets: a return path can run over the same connection.</summary>
    public bool IsBidirectional => _socket != null;

    /// <summary>Opens the outgoing side of <paramref name="uri"/>: connects a socket or creates the snapshot file.</summary>
    public static MigrationConnection Connect(MigrationUri uri, Action<Action>? registerAbort = null)
    {
        switch (uri.Kind)
        {
            case MigrationUriKind.File:
                return new MigrationConnection(new FileStream(uri.Path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16), null);
            case MigrationUriKind.Tcp:
            case MigrationUriKind.Unix:
                Socket socket = uri.Kind == MigrationUriKind.Tcp
                    ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
                    : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                registerAbort?.Invoke(socket.Dispose);
                try
                {
                    if (uri.Kind == MigrationUriKind.Tcp)
                    {
                        var ep = uri.TcpConnectEndPoint();
                        if (ep.AddressFamily != AddressFamily.InterNetwork)
                        {
                            socket.Dispose();
                            socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                            registerAbort?.Invoke(socket.Dispose);
                        }

                        socket.Connect(ep);
                    }
                    else
                    {
                        socket.Connect(new UnixDomainSocketEndPoint(uri.Path));
                    }
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                return FromSocket(socket);
            default:
                throw new ArgumentException($"transport: '{uri}' cannot be connected to", nameof(uri));
        }
    }

    /// <summary>Opens a snapshot file for an incoming file: migration.</summary>
    /// <summary>Opens a snapshot for reading; an IOException says why it cannot be, in QEMU's words.</summary>
    public static MigrationConnection OpenFile(string path)
    {
        if (Directory.Exists(path))
        {
            throw new IOException($"Failed to open file '{path}': Is a directory");
        }

        try
        {
            return new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Failed to open file '{path}': {Emu.Machine.HostErrorText.Of(e)}", e);
        }
    }

    public static MigrationConnection FromSocket(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            // The kernel doubles this (up to twice net.core.wmem_max): a few MiB in flight keep the sender copying
            // while the receiver is descheduled, instead of blocking every 16 KiB of tcp_wmem's default.
            socket.SendBufferSize = SocketBufferBytes;
        }

        return new(new NetworkStream(socket, ownsSocket: true), socket);
    }

    /// <summary>SO_SNDBUF for tcp: channels (the receive side keeps Linux's autotuning, which grows further).</summary>
    public const int SocketBufferBytes = 4 << 20;

    /// <summary>
    /// Caps what this end's kernel buffers hold (SO_SNDBUF and SO_RCVBUF, which the kernel doubles; a fixed
    /// SO_RCVBUF also ends tcp's receive autotuning). A byte written waits behind everything queued ahead of it.
    /// </summary>
    public void LimitQueuedBytes(int bytes)
    {
        if (_socket is { } socket)
        {
            socket.SendBufferSize = bytes;
            socket.ReceiveBufferSize = bytes;
        }
    }

    /// <summary>Shuts the channel down and closes it (QEMU qemu_file_shutdown + close); idempotent.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already broken: closing is all that is left.
        }

        Stream.Dispose();
    }

    public void Dispose() => Close();
}
