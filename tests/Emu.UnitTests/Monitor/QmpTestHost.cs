using Emu.Monitor;
using Emu.Monitor.Server;

namespace Emu.UnitTests.Monitor;

/// <summary>A started <see cref="QmpServer"/> on a unix socket in its own temp directory.</summary>
internal sealed class QmpTestHost : IDisposable
{
    public QmpTestHost(Action<QmpCommandTable>? register = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "emu-qmp-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Directory);
        SocketPath = Path.Combine(Directory, "qmp.sock");
        register?.Invoke(Commands);
        Server = new QmpServer(QmpEndpoint.Unix(SocketPath), Commands);
        Server.Start();
    }

    public string Directory { get; }

    public string SocketPath { get; }

    public QmpCommandTable Commands { get; } = new();

    public QmpServer Server { get; }

    public QmpTestSocket Connect() => QmpTestSocket.Unix(SocketPath);

    public QmpTestSocket ConnectNegotiated() => QmpTestSocket.Negotiated(SocketPath);

    public void Dispose()
    {
        Server.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
