using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// A QMP client for end-to-end tests, as QEMU's qtest qmp helpers: connects (retrying until the socket appears),
/// reads the greeting, negotiates, then <see cref="Execute(string, JsonObject?, TimeSpan?)"/> matches replies
/// by id while events are collected for <see cref="WaitForEvent"/>. A background thread reads every line, so
/// events are never lost between calls.
/// </summary>
public sealed class QmpClient : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _socket;
    private readonly string _endpoint;
    private readonly Func<string> _diagnostics;
    private readonly object _lock = new();
    private readonly Dictionary<long, JsonObject> _replies = [];
    private readonly Queue<JsonObject> _replyWithoutId = new();
    private readonly List<JsonObject> _events = [];
    private readonly List<JsonObject> _allEvents = [];
    private readonly Thread _reader;
    private long _nextId;
    private string? _closedReason;

    private QmpClient(Socket socket, string endpoint, Func<string>? diagnostics)
    {
        _socket = socket;
        _endpoint = endpoint;
        _diagnostics = diagnostics ?? (() => "");
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"test/qmp {endpoint}" };
        _reader.Start();
    }

    /// <summary>The server's greeting, <c>{"QMP": {"version", "capabilities"}}</c>.</summary>
    public JsonObject Greeting { get; private set; } = [];

    /// <summary>Every event received so far, taken or not, in arrival order.</summary>
    public IReadOnlyList<JsonObject> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _allEvents];
            }
        }
    }

    /// <summary>True once the server closed the connection.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _closedReason != null;
            }
        }
    }

    /// <summary>
    /// Connects to a unix-socket QMP server, retrying while the socket does not exist or refuses (the emu
    /// process is starting), then negotiates. <paramref name="diagnostics"/> is appended to timeout messages.
    /// </summary>
    /// <remarks>When <paramref name="serverAlive"/> turns false the retries stop at once (the process died).</remarks>
    public static QmpClient ConnectUnix(string path, TimeSpan? timeout = null, Func<string>? diagnostics = null, Func<bool>? serverAlive = null) =>
        Connect(new UnixDomainSocketEndPoint(path), $"unix:{path}", timeout ?? DefaultTimeout, diagnostics, serverAlive);

    public static QmpClient ConnectTcp(int port, TimeSpan? timeout = null, Func<string>? diagnostics = null, Func<bool>? serverAlive = null) =>
        Connect(new IPEndPoint(IPAddress.Loopback, port), $"tcp:127.0.0.1:{port}", timeout ?? DefaultTimeout, diagnostics, serverAlive);

    /// <summary>Runs a command; returns its "return" value or throws <see cref="QmpErrorException"/>.</summary>
    public JsonNode Execute(string command, JsonObject? arguments = null, TimeSpan? timeout = null)
    {
        long id = Interlocked.Increment(ref _nextId);
        var request = new JsonObject { ["execute"] = command, ["id"] = id };
        if (arguments != null)
        {
            request["arguments"] = arguments.Parent == null ? arguments : arguments.DeepClone();
        }

        Send(request.ToJsonString() + "\n");
        request.Remove("arguments");
        JsonObject reply = WaitFor(
            () => _replies.Remove(id, out JsonObject? r) ? r : null,
            timeout ?? DefaultTimeout,
            $"the reply to {command}");
        return Unwrap(command, reply);
    }

    /// <summary>Runs a command with arguments given as an anonymous object (<c>new { uri = "tcp:…" }</c>).</summary>
    public JsonNode Execute(string command, object arguments, TimeSpan? timeout = null) =>
        Execute(command, JsonSerializer.SerializeToNode(arguments)!.AsObject(), timeout);

    /// <summary>
    /// Sends raw text (malformed JSON, several requests at once) and returns the next reply that carries no id,
    /// as the server answers a request it could not parse.
    /// </summary>
    public JsonObject SendRaw(string text, TimeSpan? timeout = null)
    {
        Send(text);
        return WaitFor(() => _replyWithoutId.TryDequeue(out JsonObject? r) ? r : null, timeout ?? DefaultTimeout, "a reply without id");
    }

    /// <summary>
    /// Takes the first event named <paramref name="name"/> (matching <paramref name="predicate"/>) received since
    /// connecting and not taken before, waiting for it if needed. Returns the whole event object.
    /// </summary>
    public JsonObject WaitForEvent(string name, Func<JsonObject, bool>? predicate = null, TimeSpan? timeout = null)
    {
        return WaitFor(
            () =>
            {
                int i = _events.FindIndex(e => e["event"]?.GetValue<string>() == name && (predicate == null || predicate(e)));
                if (i < 0)
                {
                    return null;
                }

                JsonObject found = _events[i];
                _events.RemoveAt(i);
                return found;
            },
            timeout ?? DefaultTimeout,
            $"event {name}");
    }

    /// <summary>Waits until the server closes the connection (after quit, or when the process ends).</summary>
    public void WaitForClose(TimeSpan? timeout = null) =>
        WaitFor(() => _closedReason != null ? new JsonObject() : null, timeout ?? DefaultTimeout, "the server to close the connection", failOnClose: false);

    public void Dispose()
    {
        _socket.Dispose();
        _reader.Join(TimeSpan.FromSeconds(5));
    }

    private static QmpClient Connect(EndPoint endpoint, string name, TimeSpan timeout, Func<string>? diagnostics, Func<bool>? serverAlive)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var socket = endpoint is UnixDomainSocketEndPoint
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Connect(endpoint);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                if (serverAlive != null && !serverAlive())
                {
                    throw new IOException($"qmp: could not connect to {name}: the server process has exited{Tail(diagnostics?.Invoke())}", e);
                }

                if (DateTime.UtcNow >= deadline)
                {
                    throw new TimeoutException($"qmp: could not connect to {name} within {timeout.TotalSeconds:0.#} s: {e.SocketErrorCode}{Tail(diagnostics?.Invoke())}");
                }

                Thread.Sleep(50);
                continue;
            }

            var client = new QmpClient(socket, name, diagnostics);
            try
            {
                client.Greeting = client.WaitFor(
                    () => client._replyWithoutId.TryDequeue(out JsonObject? g) ? g : null,
                    deadline > DateTime.UtcNow ? deadline - DateTime.UtcNow : TimeSpan.FromSeconds(1),
                    "the greeting");
                if (client.Greeting["QMP"] == null)
                {
                    throw new InvalidOperationException($"qmp: {name} sent {client.Greeting.ToJsonString()} instead of a greeting");
                }

                client.Execute("qmp_capabilities");
                return client;
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }
    }

    private static JsonNode Unwrap(string command, JsonObject reply)
    {
        if (reply["error"] is JsonObject error)
        {
            throw new QmpErrorException(command, error["class"]?.GetValue<string>() ?? "", error["desc"]?.GetValue<string>() ?? "");
        }

        return reply["return"] ?? throw new InvalidOperationException($"qmp: reply to {command} has neither return nor error: {reply.ToJsonString()}");
    }

    private void Send(string text)
    {
        try
        {
            _socket.Send(Encoding.UTF8.GetBytes(text));
        }
        catch (SocketException e)
        {
            throw new IOException($"qmp: sending to {_endpoint} failed: {e.SocketErrorCode}{Tail(_diagnostics())}", e);
        }
    }

    /// <summary>Waits under the lock until <paramref name="take"/> yields a message, the connection closes, or the timeout.</summary>
    private JsonObject WaitFor(Func<JsonObject?> take, TimeSpan timeout, string what, bool failOnClose = true)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (true)
            {
                JsonObject? found = take();
                if (found != null)
                {
                    return found;
                }

                if (failOnClose && _closedReason != null)
                {
                    throw new IOException($"qmp: {_endpoint} closed ({_closedReason}) while waiting for {what}{Tail(_diagnostics())}");
                }

                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"qmp: no {what} from {_endpoint} within {timeout.TotalSeconds:0.#} s{Tail(_diagnostics())}");
                }

                System.Threading.Monitor.Wait(_lock, left);
            }
        }
    }

    private void ReadLoop()
    {
        string reason = "end of stream";
        try
        {
            using var reader = new StreamReader(new NetworkStream(_socket, ownsSocket: false), Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                JsonObject message = JsonNode.Parse(line)?.AsObject()
                    ?? throw new InvalidDataException($"qmp: {_endpoint} sent a line that is not an object: {line}");
                lock (_lock)
                {
                    if (message["event"] != null)
                    {
                        _events.Add(message);
                        _allEvents.Add(message);
                    }
                    else if (message["id"] is JsonValue id && id.TryGetValue(out long n))
                    {
                        _replies[n] = message;
                    }
                    else
                    {
                        _replyWithoutId.Enqueue(message);
                    }

                    System.Threading.Monitor.PulseAll(_lock);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or JsonException or InvalidDataException)
        {
            reason = e.Message;
        }

        lock (_lock)
        {
            _closedReason = reason;
            System.Threading.Monitor.PulseAll(_lock);
        }
    }

    private static string Tail(string? diagnostics) => string.IsNullOrEmpty(diagnostics) ? "" : "\n" + diagnostics;
}
