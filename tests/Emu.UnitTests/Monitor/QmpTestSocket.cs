using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Emu.UnitTests.Monitor;

/// <summary>A raw QMP client for server tests: sends exact bytes, reads one CRLF-terminated line at a time.</summary>
internal sealed class QmpTestSocket : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _pending = [];

    public QmpTestSocket(EndPoint endpoint)
    {
        _socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _socket.ReceiveTimeout = 30000;
        _socket.Connect(endpoint);
    }

    public static QmpTestSocket Unix(string path) => new(new UnixDomainSocketEndPoint(path));

    /// <summary>Reads the greeting and negotiates capabilities.</summary>
    public static QmpTestSocket Negotiated(string path)
    {
        var s = Unix(path);
        Assert.NotNull(s.ReadMessage()["QMP"]);
        s.Send("""{"execute": "qmp_capabilities"}""");
        Assert.Equal("{}", s.ReadMessage()["return"]!.ToJsonString());
        return s;
    }

    public void Send(string text) => _socket.Send(Encoding.UTF8.GetBytes(text));

    public JsonObject Execute(string json)
    {
        Send(json);
        return ReadMessage();
    }

    /// <summary>The next line, which must end in CRLF and hold one JSON object.</summary>
    public JsonObject ReadMessage()
    {
        string line = ReadLine();
        return JsonNode.Parse(line)!.AsObject();
    }

    public string ReadLine()
    {
        byte[] buffer = new byte[4096];
        while (true)
        {
            int lf = _pending.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                Assert.True(lf > 0 && _pending[lf - 1] == (byte)'\r', "QMP lines end in CRLF");
                string line = Encoding.UTF8.GetString(_pending.GetRange(0, lf - 1).ToArray());
                _pending.RemoveRange(0, lf + 1);
                return line;
            }

            int n = _socket.Receive(buffer);
            Assert.True(n > 0, "the server closed the connection");
            _pending.AddRange(buffer.AsSpan(0, n));
        }
    }

    /// <summary>True when nothing arrives within <paramref name="wait"/>.</summary>
    public bool IsQuietFor(TimeSpan wait)
    {
        if (_pending.Count > 0)
        {
            return false;
        }

        return !_socket.Poll(wait, SelectMode.SelectRead);
    }

    /// <summary>True when the server has closed the connection (end of stream, nothing unread).</summary>
    public bool IsClosedByPeer()
    {
        byte[] buffer = new byte[256];
        return _pending.Count == 0 && _socket.Receive(buffer) == 0;
    }

    public void Dispose() => _socket.Dispose();
}
