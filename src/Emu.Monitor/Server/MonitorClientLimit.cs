using System.Net.Sockets;
using Serilog;

namespace Emu.Monitor.Server;

/// <summary>
/// The cap on one monitor server's concurrent clients (QMP or the human monitor): each client costs a thread, so
/// an unbounded number of idle connections would cost the process a thread each. QEMU's own monitor serves one
/// client at a time; Emu serves up to <see cref="MaxClients"/> and turns the next one away at once: one line
/// saying why, then the socket closes. The first refusal is logged as a warning, later ones only at debug level.
/// </summary>
internal sealed class MonitorClientLimit(int maxClients = MonitorClientLimit.MaxClients)
{
    /// <summary>Concurrent clients one server serves.</summary>
    public const int MaxClients = 64;

    private int _clients;
    private int _refusals;

    public int Max { get; } = maxClients;

    /// <summary>Takes a client's place; false when <see cref="Max"/> clients already have one.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _clients) <= Max)
        {
            return true;
        }

        Interlocked.Decrement(ref _clients);
        return false;
    }

    /// <summary>Gives back the place a client took with <see cref="TryEnter"/>.</summary>
    public void Leave() => Interlocked.Decrement(ref _clients);

    /// <summary>
    /// Turns away a client over the cap: <paramref name="line"/> (a few bytes: it fits the empty socket buffer, so
    /// the accepting thread never waits on the client), then the socket closes. The connected clients see nothing.
    /// </summary>
    public void Refuse(Socket socket, ReadOnlySpan<byte> line, ILogger log, string server)
    {
        try
        {
            socket.Blocking = false;
            socket.Send(line);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Gone already, or its buffer is full: closing is all it gets.
        }
        finally
        {
            socket.Dispose();
        }

        if (Interlocked.Increment(ref _refusals) == 1)
        {
            log.Warning("{Server}: {Max} clients connected, refusing more (logged once)", server, Max);
        }
        else
        {
            log.Debug("{Server}: client refused, {Max} connected", server, Max);
        }
    }
}
