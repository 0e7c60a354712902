using System.Net;
using System.Net.Sockets;

namespace Emu.EndToEndTests.Support;

/// <summary>Loopback networking for tests that run several emu processes.</summary>
public static class Loopback
{
    /// <summary>First port <see cref="FreeTcpPort"/> hands out: below the kernel's ephemeral range, varied by process.</summary>
    private static int _next = EphemeralRangeStart() - 1 - (Environment.ProcessId % 4096);

    /// <summary>
    /// A TCP port on 127.0.0.1 that is free now and that nothing else in this process has been given. Ports come from
    /// below the kernel's ephemeral range, counting down: a port the kernel picked (bind to port 0) was free a moment
    /// ago but can be handed to another socket's connect before the emu under test binds it (seen in CI).
    /// </summary>
    public static int FreeTcpPort()
    {
        for (int tries = 0; tries < 8192; tries++)
        {
            int port = Interlocked.Decrement(ref _next);
            if (port < 10_000)
            {
                Interlocked.Exchange(ref _next, EphemeralRangeStart() - 1);
                continue;
            }

            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return port;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                // Someone has it; try the next one.
            }
            finally
            {
                listener.Stop();
            }
        }

        throw new InvalidOperationException("no free TCP port on 127.0.0.1 between 10000 and the ephemeral range");
    }

    /// <summary>The low end of <c>net.ipv4.ip_local_port_range</c> (32768 when it cannot be read).</summary>
    private static int EphemeralRangeStart()
    {
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.TryParse(range[0], out int low) && low > 12_000 ? low : 32768;
        }
        catch (IOException)
        {
            return 32768;
        }
    }

    /// <summary>
    /// Plays a raw migration source: connects to a destination's <c>-incoming tcp:127.0.0.1:PORT</c> (retrying
    /// while it is not listening yet), writes <paramref name="stream"/>, closes its sending half so the destination
    /// sees the end of the stream, and waits (bounded) for the destination to close its side. A destination that
    /// refuses the stream early may reset the connection; that is not an error here.
    /// </summary>
    public static void SendAndClose(int port, byte[] stream, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        using Socket socket = ConnectWithRetry(port, deadline);
        try
        {
            socket.Send(stream);
            socket.Shutdown(SocketShutdown.Send);
            socket.ReceiveTimeout = (int)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds);
            byte[] sink = new byte[4096];
            while (socket.Receive(sink) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
        {
            // The destination gave up on the stream before reading all of it.
        }
    }

    private static Socket ConnectWithRetry(int port, DateTime deadline)
    {
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Connect(IPAddress.Loopback, port);
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused && DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                Thread.Sleep(50);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }
}
