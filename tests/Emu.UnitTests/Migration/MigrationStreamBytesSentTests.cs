using System.Net;
using System.Net.Sockets;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration;

/// <summary>
/// <see cref="MigrationStream.BytesSent"/>, which query-migrate's mbps and the switchover bandwidth count: bytes a
/// socket still holds for a peer that has not taken them did not leave, so the figure never runs ahead of what the
/// peer took (a 200 Mbit/s link showed 285–389 mbps when written bytes were counted).
/// </summary>
public sealed class MigrationStreamBytesSentTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-sent-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Over unix the kernel holds written bytes until the reader reads them.</summary>
    [Fact]
    public void OverUnixOnlyTheBytesTheReaderReadCount()
    {
        string path = Path.Combine(_dir, "s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var writer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        writer.Connect(new UnixDomainSocketEndPoint(path));
        using Socket reader = listener.Accept();

        // Fits the unix socket's send buffer: the flushes return with every byte still unread. The kernel frees a
        // written buffer (one per send) only once it is read whole, so the sends are small.
        const int chunk = 8 << 10, written = 12 * chunk, read = 4 * chunk;
        using var s = MigrationStream.ForWriting(new NetworkStream(writer, ownsSocket: false));
        for (int i = 0; i < written / chunk; i++)
        {
            s.WriteBytes(new byte[chunk]);
            s.Flush();
        }

        Assert.Equal(0, s.BytesSent);

        ReadExactly(reader, read);
        Assert.InRange(s.BytesSent, read / 2, read);
        Assert.Equal(written, s.Position);

        ReadExactly(reader, written - read);
        Assert.Equal(written, s.BytesSent);
    }

    /// <summary>Over tcp a peer whose receive buffer is full acknowledges nothing more: the rest waits unsent.</summary>
    [Fact]
    public void OverTcpBytesQueuedForAPeerThatDoesNotReadDoNotCount()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = 64 << 10;
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var writer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { SendBufferSize = 4 << 20 };
        writer.Connect(listener.LocalEndPoint!);
        using Socket reader = listener.Accept();

        const int written = 2 << 20, read = 256 << 10;
        using var s = MigrationStream.ForWriting(new NetworkStream(writer, ownsSocket: false));
        s.WriteBytes(new byte[written]);
        s.Flush();
        ReadExactly(reader, read);

        // What left: what was read, plus at most what the reader's kernel buffer holds (its size as the kernel reports it).
        Assert.InRange(s.BytesSent, read, read + reader.ReceiveBufferSize);
        Assert.Equal(written, s.Position);
    }

    [Fact]
    public void AFileTakesEveryByteAtOnce()
    {
        using var s = MigrationStream.ForWriting(new MemoryStream());
        s.WriteBytes(new byte[5000]);
        Assert.Equal(0, s.BytesSent);
        s.Flush();
        Assert.Equal(5000, s.BytesSent);
    }

    private static void ReadExactly(Socket socket, int bytes)
    {
        byte[] buffer = new byte[bytes];
        int got = 0;
        while (got < bytes)
        {
            int n = socket.Receive(buffer, got, bytes - got, SocketFlags.None);
            Assert.True(n > 0, "the writer closed early");
            got += n;
        }
    }
}
