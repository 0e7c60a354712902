using System.Net;
using System.Net.Sockets;

namespace Emu.Migration.Transport;

/// <summary>
/// A parsed migration URI (QEMU's <c>tcp:HOST:PORT</c>, <c>unix:PATH</c>, <c>file:PATH</c>, <c>defer</c>). An empty
/// tcp host (<c>tcp::4444</c>) listens on every interface and connects to this host, as QEMU's inet addresses.
/// </summary>
public sealed record MigrationUri(MigrationUriKind Kind, string Host, int Port, string Path)
{
    /// <summary>Parses <paramref name="uri"/>, or says in one sentence what is wrong with it.</summary>
    public static bool TryParse(string uri, out MigrationUri? parsed, out string error)
    {
        parsed = null;
        error = "";
        if (uri == "defer")
        {
            parsed = new MigrationUri(MigrationUriKind.Defer, "", 0, "");
        }
        else if (uri.StartsWith("unix:", StringComparison.Ordinal))
        {
            parsed = uri.Length > 5 ? new MigrationUri(MigrationUriKind.Unix, "", 0, uri[5..]) : null;
            error = "a unix: address needs a socket path (unix:PATH)";
        }
        else if (uri.StartsWith("file:", StringComparison.Ordinal))
        {
            // QEMU's file: takes ",offset=N"; Emu writes whole files only.
            parsed = uri.Length > 5 ? new MigrationUri(MigrationUriKind.File, "", 0, uri[5..]) : null;
            error = "a file: address needs a file name (file:PATH)";
        }
        else if (uri.StartsWith("tcp:", StringComparison.Ordinal))
        {
            parsed = ParseTcp(uri[4..], out error);
        }
        else
        {
            int colon = uri.IndexOf(':');
            error = colon > 0
                ? $"unknown migration protocol '{uri[..colon]}' (tcp:HOST:PORT, unix:PATH, file:PATH or defer)"
                : "not a migration address (tcp:HOST:PORT, unix:PATH, file:PATH or defer)";
        }

        return parsed != null;
    }

    public static bool TryParse(string uri, out MigrationUri? parsed) => TryParse(uri, out parsed, out _);

    /// <summary>Parses <paramref name="uri"/> or throws a <see cref="MigrationException"/> naming what is wrong.</summary>
    public static MigrationUri Parse(string uri) =>
        TryParse(uri, out MigrationUri? parsed, out string error) ? parsed! : throw new MigrationException(error);

    private static MigrationUri? ParseTcp(string rest, out string error)
    {
        int comma = rest.IndexOf(',');
        if (comma >= 0)
        {
            error = $"tcp: option '{rest[(comma + 1)..]}' is not supported";
            return null;
        }

        int colon = rest.LastIndexOf(':');
        if (colon < 0 || (rest.StartsWith('[') && !rest[..colon].EndsWith(']')))
        {
            error = "a tcp: address needs a port (tcp:HOST:PORT)";
            return null;
        }

        string port = rest[(colon + 1)..];
        if (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int p) || p > 65535)
        {
            error = port.Length == 0 ? "a tcp: address needs a port (tcp:HOST:PORT)" : $"port '{port}' is not a number from 0 to 65535";
            return null;
        }

        string host = rest[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        error = "";
        return new MigrationUri(MigrationUriKind.Tcp, host, p, "");
    }

    /// <summary>The endpoint of a tcp: URI; a host name resolves to its first address, an empty host to every interface.</summary>
    public IPEndPoint TcpEndPoint()
    {
        if (Host.Length == 0)
        {
            return new IPEndPoint(IPAddress.Any, Port);
        }

        if (!IPAddress.TryParse(Host, out IPAddress? address))
        {
            try
            {
                address = Dns.GetHostAddresses(Host).FirstOrDefault();
            }
            catch (SocketException e)
            {
                throw new IOException($"address resolution failed for '{Host}': {e.Message}", e);
            }

            if (address == null)
            {
                throw new IOException($"address resolution failed for '{Host}': no address");
            }
        }

        return new IPEndPoint(address, Port);
    }

    /// <summary>Where a source connects for this URI: an empty host means this host.</summary>
    public IPEndPoint TcpConnectEndPoint() => Host.Length == 0 ? new IPEndPoint(IPAddress.Loopback, Port) : TcpEndPoint();

    public override string ToString() => Kind switch
    {
        MigrationUriKind.Tcp => $"tcp:{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}",
        MigrationUriKind.Unix => $"unix:{Path}",
        MigrationUriKind.File => $"file:{Path}",
        _ => "defer",
    };
}
