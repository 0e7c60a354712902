using System.Net.Sockets;

namespace Emu.Migration.Transport;

/// <summary>Socket options every listening socket of Emu's (migration, QMP) shares.</summary>
public static class ListeningSocket
{
    /// <summary>
    /// SO_REUSEADDR alone, as QEMU's socket_listen: a port in TIME_WAIT can be bound again, a port another process
    /// listens on cannot ("Address already in use"). .NET's ReuseAddress option also sets SO_REUSEPORT on Linux,
    /// which let a second emu listen on the same port and take some of its connections.
    /// </summary>
    public static void ReuseAddressOnly(Socket socket)
    {
        const int SolSocket = 1, SoReuseAddr = 2;
        socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
    }

    /// <summary>
    /// Binds a unix socket at <paramref name="path"/>, replacing a stale socket file from an earlier run as QEMU's
    /// socket_listen does; a missing directory is said as such (the kernel's EADDRNOTAVAIL would not).
    /// </summary>
    public static void BindUnix(Socket socket, string path)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory != null && !Directory.Exists(directory))
        {
            throw new IOException($"Failed to bind socket to {path}: No such file or directory");
        }

        if (Directory.Exists(path))
        {
            throw new IOException($"Failed to bind socket to {path}: Is a directory");
        }

        File.Delete(path);
        socket.Bind(new UnixDomainSocketEndPoint(path));
    }
}
