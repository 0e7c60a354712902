using System.Net;

namespace Emu.Migration.Transport;

/// <summary>A parsed migration URI (QEMU's <c>tcp:</c>, <c>unix:</c>, <c>file:</c>, <c>defer</c>).</summary>
public sealed record MigrationUri(MigrationUriKind Kind, string Host, int Port, string Path)
{
    public static bool TryParse(string uri, out MigrationUri? parsed)
    {
        parsed = null;
        if (uri == "defer")
        {
            parsed = new MigrationUri(MigrationUriKind.Defer, "", 0, "");
        }
        else if (uri.StartsWith("unix:", StringComparison.Ordinal) && uri.Length > 5)
        {
            parsed = new MigrationUri(MigrationUriKind.Unix, "", 0, uri[5..]);
        }
        else if (uri.StartsWith("file:", StringComparison.Ordinal) && uri.Length > 5)
        {
            // QEMU's file: takes ",offset=N"; Emu writes whole files only.
            parsed = new MigrationUri(MigrationUriKind.File, "", 0, uri[5..]);
        }
        else if (uri.StartsWith("tcp:", StringComparison.Ordinal))
        {
            string rest = uri[4..];
            int colon = rest.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(rest[(colon + 1)..], out int port) || port is < 0 or > 65535)
            {
                return false;
            }

            string host = rest[..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }

            parsed = new MigrationUri(MigrationUriKind.Tcp, host, port, "");
        }

        return parsed != null;
    }

    /// <summary>The endpoint of a tcp: URI; a host name resolves to its first address.</summary>
    public IPEndPoint TcpEndPoint()
    {
        if (!IPAddress.TryParse(Host, out IPAddress? address))
        {
            address = Dns.GetHostAddresses(Host).FirstOrDefault()
                ?? throw new IOException($"transport: host '{Host}' has no address");
        }

        return new IPEndPoint(address, Port);
    }

    public override string ToString() => Kind switch
    {
        MigrationUriKind.Tcp => $"tcp:{Host}:{Port}",
        MigrationUriKind.Unix => $"unix:{Path}",
        MigrationUriKind.File => $"file:{Path}",
        _ => "defer",
    };
}
