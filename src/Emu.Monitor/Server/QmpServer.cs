using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Serilog;

namespace Emu.Monitor.Server;

/// <summary>
/// QEMU's QMP monitor on a unix or TCP socket (<c>-qmp unix:PATH,server,wait=off</c>): up to
/// <see cref="MonitorClientLimit.MaxClients"/> clients at once (one more is sent a GenericError line and closed),
/// each greeted, negotiated with qmp_capabilities, then served from <see cref="QmpCommandTable"/>.
/// Events go to every negotiated client in the order they were emitted. Responses and events are one line each,
/// terminated by CRLF, as QEMU writes them.
/// </summary>
public sealed class QmpServer : IQmpEvents, IDisposable
{
    /// <summary>How long Dispose waits for each client to take its last messages (a quit's reply, SHUTDOWN).</summary>
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(1);

    private static readonly ILogger Log = Serilog.Log.ForContext<QmpServer>();

    private readonly QmpDispatcher _dispatcher;
    private readonly QmpVersion _version;
    private readonly object _clientsLock = new();
    private readonly List<QmpConnection> _clients = [];
    private readonly MonitorClientLimit _limit = new();
    private Socket? _listener;
    private Thread? _acceptThread;
    private int _nextClientId;
    private volatile bool _disposed;

    public QmpServer(QmpEndpoint endpoint, QmpCommandTable commands, QmpVersion? version = null)
    {
        Endpoint = endpoint;
        _dispatcher = new QmpDispatcher(commands);
        _version = version ?? QmpVersion.Emu;
    }

    /// <summary>The endpoint as configured; for TCP port 0 see <see cref="BoundEndpoint"/>.</summary>
    public QmpEndpoint Endpoint { get; }

    /// <summary>Where the server listens after <see cref="Start"/> (with the real TCP port).</summary>
    public QmpEndpoint BoundEndpoint { get; private set; } = null!;

    /// <summary>Clients currently connected (negotiated or not).</summary>
    public int ClientCount
    {
        get
        {
            lock (_clientsLock)
            {
                return _clients.Count;
            }
        }
    }

    /// <summary>
    /// Binds and starts accepting clients on the thread <c>qmp/accept</c>. An existing unix socket file is
    /// replaced, as QEMU's unix_listen does. Throws <see cref="IOException"/> naming the endpoint when it cannot listen.
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_listener != null)
        {
            throw new InvalidOperationException("qmp: server already started");
        }

        Socket listener = Endpoint.Listen(16, out QmpEndpoint bound);
        BoundEndpoint = bound;
        _listener = listener;
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "qmp/accept" };
        _acceptThread.Start();
        Log.Information("qmp: listening on {Endpoint}", BoundEndpoint);
    }

    /// <summary>
    /// QEMU's qapi_event_emit via monitor_qapi_event_emit: <c>{"event", "data", "timestamp"}</c> to every
    /// negotiated client. Thread-safe; events reach each client in the order of the calls. Never blocks on a client.
    /// </summary>
    public void Emit(string name, JsonObject? data = null)
    {
        long micros = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / (TimeSpan.TicksPerMillisecond / 1000);
        var message = new JsonObject { ["event"] = name };
        if (data != null)
        {
            message["data"] = data.Parent == null ? data : data.DeepClone();
        }

        message["timestamp"] = new JsonObject { ["seconds"] = micros / 1_000_000, ["microseconds"] = micros % 1_000_000 };
        byte[] line = QmpJsonWriter.ToLine(message);
        message.Remove("data");

        lock (_clientsLock)
        {
            foreach (QmpConnection client in _clients)
            {
                if (client.Negotiated)
                {
                    client.Enqueue(line);
                }
            }
        }

        Log.Debug("qmp: event {Event}", name);
    }

    /// <summary>Stops listening, flushes what each client has queued, closes them, removes the unix socket file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _listener?.Dispose();
        _acceptThread?.Join();

        QmpConnection[] clients;
        lock (_clientsLock)
        {
            clients = [.. _clients];
        }

        foreach (QmpConnection client in clients)
        {
            client.Close(FlushTimeout);
        }

        if (_listener != null && Endpoint.Kind == QmpEndpointKind.Unix)
        {
            File.Delete(Endpoint.Path);
        }
    }

    /// <summary>Queues the qmp_capabilities reply and turns on events for the client in one step.</summary>
    internal void CompleteNegotiation(QmpConnection client, byte[] reply, bool enableOob)
    {
        lock (_clientsLock)
        {
            client.Enqueue(reply);
            client.MarkNegotiated(enableOob);
        }
    }

    internal void Remove(QmpConnection client)
    {
        lock (_clientsLock)
        {
            if (_clients.Remove(client))
            {
                _limit.Leave();
            }
        }
    }

    private byte[] Greeting() => QmpJsonWriter.ToLine(new JsonObject
    {
        ["QMP"] = new JsonObject { ["version"] = _version.ToQmp(), ["capabilities"] = QmpDispatcher.OfferedCapabilities() },
    });

    /// <summary>What a client over the cap reads before its socket closes: a QMP error, which any client parses.</summary>
    private byte[] TooManyClients() => QmpJsonWriter.ToLine(new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["class"] = "GenericError",
            ["desc"] = $"qmp: {_limit.Max} clients are connected, the most this server serves at once; connection refused",
        },
    });

    private void AcceptLoop()
    {
        byte[] greeting = Greeting();
        byte[] tooMany = TooManyClients();
        while (!_disposed)
        {
            Socket socket;
            try
            {
                socket = _listener!.Accept();
            }
            catch (Exception e) when (_disposed && e is SocketException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e)
            {
                // Out of descriptors and the like: keep serving the clients we have and try again shortly.
                Log.Warning("qmp: accept on {Endpoint} failed: {Error}", BoundEndpoint, e.SocketErrorCode);
                Thread.Sleep(100);
                continue;
            }

            if (!_limit.TryEnter())
            {
                _limit.Refuse(socket, tooMany, Log, $"qmp on {BoundEndpoint}");
                continue;
            }

            var client = new QmpConnection(Interlocked.Increment(ref _nextClientId), socket, this, _dispatcher);
            lock (_clientsLock)
            {
                if (_disposed)
                {
                    _limit.Leave();
                    socket.Dispose();
                    break;
                }

                _clients.Add(client);
            }

            Log.Information("qmp: client {Client} connected on {Endpoint}", client.Id, BoundEndpoint);
            client.Start(greeting);
        }
    }
}
