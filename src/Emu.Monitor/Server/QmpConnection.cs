using System.Net.Sockets;
using System.Threading.Channels;
using Serilog;

namespace Emu.Monitor.Server;

/// <summary>
/// One QMP client. A reader thread (<c>qmp/client/N</c>) frames and dispatches requests; a writer task sends
/// queued lines in order, so an event emitted from a vCPU or migration thread never waits for a slow client.
/// When the client closes its side, the replies already queued are still sent before the socket closes
/// (so <c>echo ... | socat - UNIX:sock</c> works as with QEMU).
/// </summary>
internal sealed class QmpConnection
{
    private static readonly ILogger Log = Serilog.Log.ForContext<QmpConnection>();

    private readonly Socket _socket;
    private readonly QmpServer _server;
    private readonly QmpDispatcher _dispatcher;
    private readonly QmpJsonFramer _framer = new();
    private readonly QmpJsonFramer.FrameSink _onFrame;
    private readonly Channel<byte[]> _outbox = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private Task _writer = Task.CompletedTask;
    private volatile bool _negotiated;
    private volatile bool _oobEnabled;
    private int _closed;

    public QmpConnection(int id, Socket socket, QmpServer server, QmpDispatcher dispatcher)
    {
        Id = id;
        _socket = socket;
        _server = server;
        _dispatcher = dispatcher;
        _onFrame = OnFrame;
    }

    public int Id { get; }

    /// <summary>True once qmp_capabilities succeeded: commands dispatch and events are delivered.</summary>
    public bool Negotiated => _negotiated;

    public bool OobEnabled => _oobEnabled;

    public void Start(byte[] greeting)
    {
        Enqueue(greeting);
        _writer = Task.Run(WriteLoopAsync);
        var reader = new Thread(ReadLoop) { IsBackground = true, Name = $"qmp/client/{Id}" };
        reader.Start();
    }

    /// <summary>Queues a line (a response or an event) for this client; drops it if the client is gone.</summary>
    public void Enqueue(byte[] line) => _outbox.Writer.TryWrite(line);

    /// <summary>Called by the server under its event lock, so no event is queued between the reply and the flag.</summary>
    public void MarkNegotiated(bool oobEnabled)
    {
        _oobEnabled = oobEnabled;
        _negotiated = true;
    }

    /// <summary>Stops accepting lines, sends what is queued (up to <paramref name="flushTimeout"/>), then closes.</summary>
    public void Close(TimeSpan flushTimeout)
    {
        _outbox.Writer.TryComplete();
        if (!_writer.Wait(flushTimeout))
        {
            Log.Debug("qmp: client {Client} did not take its last messages within {Timeout}", Id, flushTimeout);
        }

        CloseSocket();
    }

    private void ReadLoop()
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = _socket.Receive(buffer);
                if (n == 0)
                {
                    break;
                }

                _framer.Feed(buffer.AsSpan(0, n), _onFrame);
            }
        }
        catch (SocketException e)
        {
            Log.Debug("qmp: client {Client} read failed: {Error}", Id, e.SocketErrorCode);
        }
        catch (ObjectDisposedException)
        {
            // The socket was closed by Close or by the writer after a send failure.
        }

        // End of input: what is queued still goes out; the writer closes the socket when done.
        _outbox.Writer.TryComplete();
    }

    private void OnFrame(ReadOnlySpan<byte> text, string? framingError)
    {
        QmpReply reply = _dispatcher.Dispatch(text, framingError, this);
        byte[] line = QmpJsonWriter.ToLine(reply.Response);
        if (reply.CompletesNegotiation)
        {
            _server.CompleteNegotiation(this, line, reply.EnableOob);
        }
        else
        {
            Enqueue(line);
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await foreach (byte[] line in _outbox.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                await _socket.SendAsync(line, SocketFlags.None).ConfigureAwait(false);
            }
        }
        catch (SocketException e)
        {
            Log.Debug("qmp: client {Client} write failed: {Error}", Id, e.SocketErrorCode);
            _outbox.Writer.TryComplete();
        }
        catch (ObjectDisposedException)
        {
            _outbox.Writer.TryComplete();
        }

        CloseSocket();
    }

    private void CloseSocket()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer; closing below is all that is left to do.
        }

        _socket.Dispose();
        _server.Remove(this);
        Log.Information("qmp: client {Client} disconnected", Id);
    }
}
