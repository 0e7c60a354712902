using System.Net;
using System.Net.Sockets;
using Emu.Migration.Transport;

namespace Emu.Monitor.Server;

/// <summary>
/// Where a QMP server listens, parsed from a <c>-qmp</c> chardev spec as QEMU writes it:
/// <c>unix:PATH,server,wait=off</c> or <c>tcp:HOST:PORT,server,wait=off</c>. <c>server</c> may be written
/// <c>server=on</c> and <c>wait=off</c> as the old <c>nowait</c>. Emu only listens (no client mode) and never
/// waits for the first client before starting the guest, so <c>server</c> is required and <c>wait=on</c> is refused.
/// </summary>
public sealed record QmpEndpoint(QmpEndpointKind Kind, string Path, string Host, int Port)
{
    public static QmpEndpoint Unix(string path) => new(QmpEndpointKind.Unix, path, "", 0);

    public static QmpEndpoint Tcp(string host, int port) => new(QmpEndpointKind.Tcp, "", host, port);

    /// <summary>
    /// A listening socket here (QMP's and the human monitor's): a stale unix socket file is replaced, as QEMU's
    /// unix_listen does; a tcp one binds with SO_REUSEADDR only. <paramref name="bound"/> has the port the kernel
    /// chose for port 0. Throws <see cref="IOException"/> with the reason alone when it cannot listen.
    /// </summary>
    public Socket Listen(int backlog, out QmpEndpoint bound)
    {
        Socket listener = Kind == QmpEndpointKind.Unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (Kind == QmpEndpointKind.Unix)
            {
                ListeningSocket.BindUnix(listener, Path);
                bound = this;
            }
            else
            {
                IPAddress address = Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(Host);
                if (address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    listener.Dispose();
                    listener = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
                }

                ListeningSocket.ReuseAddressOnly(listener);
                listener.Bind(new IPEndPoint(address, Port));
                bound = this with { Port = ((IPEndPoint)listener.LocalEndPoint!).Port };
            }

            listener.Listen(backlog);
            return listener;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener.Dispose();
            throw new IOException(e.Message, e);
        }
    }

    /// <summary>Parses a <c>-qmp</c> value; throws <see cref="FormatException"/> with a one-line message naming the option.</summary>
    public static QmpEndpoint Parse(string spec) =>
        TryParse(spec, out QmpEndpoint? endpoint, out string error) ? endpoint : throw new FormatException(error);

    public static bool TryParse(string spec, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out QmpEndpoint? endpoint, out string error)
    {
        endpoint = null;
        string[] parts = spec.Split(',');
        string address = parts[0];
        bool server = false;
        for (int i = 1; i < parts.Length; i++)
        {
            switch (parts[i])
            {
                case "server" or "server=on":
                    server = true;
                    break;
                case "server=off":
                    server = false;
                    break;
                case "wait=off" or "nowait":
                    break;
                case "wait=on" or "wait":
                    error = $"-qmp: '{spec}': wait=on is not supported, expected wait=off";
                    return false;
                default:
                    error = $"-qmp: '{spec}': unknown option '{parts[i]}', expected server and wait=off";
                    return false;
            }
        }

        if (!server)
        {
            error = $"-qmp: '{spec}': only server mode is supported, expected 'server' (as unix:PATH,server,wait=off)";
            return false;
        }

        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = address["unix:".Length..];
            if (path.Length == 0)
            {
                error = $"-qmp: '{spec}': empty socket path, expected unix:PATH";
                return false;
            }

            // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
            if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
            {
                error = $"-qmp: '{spec}': socket path is {System.Text.Encoding.UTF8.GetByteCount(path)} bytes, expected at most 107";
                return false;
            }

            endpoint = Unix(path);
            error = "";
            return true;
        }

        if (address.StartsWith("tcp:", StringComparison.Ordinal))
        {
            string hostPort = address["tcp:".Length..];
            int colon = hostPort.LastIndexOf(':');
            string host = colon < 0 ? "" : hostPort[..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }

            if (colon < 0 || !int.TryParse(hostPort[(colon + 1)..], System.Globalization.NumberStyles.None, null, out int port) || port > 65535)
            {
                error = $"-qmp: '{spec}': expected tcp:HOST:PORT with a port from 0 to 65535";
                return false;
            }

            if (host != "localhost" && !IPAddress.TryParse(host, out _))
            {
                error = $"-qmp: '{spec}': host '{host}' is not an IP address or localhost";
                return false;
            }

            endpoint = Tcp(host, port);
            error = "";
            return true;
        }

        error = $"-qmp: '{spec}': expected unix:PATH,server,wait=off or tcp:HOST:PORT,server,wait=off";
        return false;
    }

    public override string ToString() => Kind == QmpEndpointKind.Unix ? $"unix:{Path}" : $"tcp:{Host}:{Port}";
}
