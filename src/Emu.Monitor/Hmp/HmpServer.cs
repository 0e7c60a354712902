using System.Net.Sockets;
using System.Text;
using Emu.Monitor.Server;
using Serilog;

namespace Emu.Monitor.Hmp;

/// <summary>
/// QEMU's <c>-monitor unix:PATH,server,wait=off</c> (or <c>tcp:HOST:PORT,…</c>): the human monitor on a socket,
/// one thread per connected client (as <c>socat - UNIX-CONNECT:PATH</c> or <c>nc</c> would use it), up to
/// <see cref="MonitorClientLimit.MaxClients"/> at once: one more reads a line saying so and is closed.
/// </summary>
public sealed class HmpServer : IDisposable
{
    private static readonly ILogger Log = Serilog.Log.ForContext<HmpServer>();

    private readonly HumanMonitor _monitor;
    private readonly Socket _listener;
    private readonly string? _unixPath;
    private readonly MonitorClientLimit _limit = new();
    private readonly string _endpoint;
    private readonly byte[] _tooMany;

    public HmpServer(HumanMonitor monitor, QmpEndpoint endpoint)
    {
        _monitor = monitor;
        _unixPath = endpoint.Kind == QmpEndpointKind.Unix ? endpoint.Path : null;
        _listener = endpoint.Listen(4, out QmpEndpoint bound);
        _endpoint = bound.ToString();
        _tooMany = Encoding.UTF8.GetBytes($"monitor: {_limit.Max} clients are connected, the most this monitor serves at once; connection refused\r\n");
        new Thread(AcceptLoop) { Name = "monitor/accept", IsBackground = true }.Start();
        Log.Information("monitor: listening on {Endpoint}", endpoint);
    }

    public void Dispose()
    {
        _listener.Dispose();
        if (_unixPath != null)
        {
            File.Delete(_unixPath);
        }
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (!_limit.TryEnter())
            {
                _limit.Refuse(client, _tooMany, Log, $"monitor on {_endpoint}");
                continue;
            }

            new Thread(() => Serve(client)) { Name = "monitor/client", IsBackground = true }.Start();
        }
    }

    private void Serve(Socket client)
    {
        try
        {
            ServeUntilGone(client);
        }
        finally
        {
            _limit.Leave();
        }
    }

    private void ServeUntilGone(Socket client)
    {
        using (client)
        using (var stream = new NetworkStream(client, ownsSocket: false))
        using (var reader = new StreamReader(stream, Encoding.UTF8))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(false)))
        {
            try
            {
                _monitor.Serve(reader, writer);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                Log.Debug("monitor: client gone: {Reason}", e.Message);
            }
        }
    }
}
