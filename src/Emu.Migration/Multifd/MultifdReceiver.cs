using System.Text;
using Emu.Machine.Memory;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;
using Serilog;

namespace Emu.Migration.Multifd;

/// <summary>
/// The destination's multifd channels (QEMU multifd_recv_state): an acceptor thread ("mig/dst/accept") takes the
/// multifd-channels connections that follow the main one on the -incoming listener, reads each one's initial
/// packet and starts its <see cref="MultifdRecvChannel"/>; the main thread, at each RAM_SAVE_FLAG_MULTIFD_FLUSH,
/// waits in <see cref="SyncMain"/> until every channel has placed everything before its sync packet, then lets
/// them go on. The first failure of any channel fails the incoming migration and wakes the main thread.
/// </summary>
/// <remarks>One lock guards the channel table, their sync flags and the error; waits are Monitor waits on it.</remarks>
public sealed class MultifdReceiver : IDisposable
{
    private readonly object _lock = new();
    private readonly (byte[] IdStr, RamBlock Block)[] _blocks;
    private readonly MultifdRecvChannel?[] _channels;
    private readonly MultifdCompression _compression;
    private readonly Action<string> _fail;
    private readonly ILogger _log;
    private MigrationListener? _listener;
    private string? _error;
    private bool _closing;

    /// <param name="loader">The RAM loader the channels place pages through.</param>
    /// <param name="blocks">This machine's RAM blocks.</param>
    /// <param name="p">The destination's multifd-channels and multifd-compression (they must match the source's).</param>
    /// <param name="fail">Fails the incoming migration with one line (called once, from a channel's thread).</param>
    /// <param name="log">Serilog logger.</param>
    public MultifdReceiver(RamLoader loader, IReadOnlyList<RamBlock> blocks, MigrationParameters p, Action<string> fail, ILogger log)
    {
        Loader = loader;
        _blocks = [.. blocks.Select(b => (Encoding.ASCII.GetBytes(b.IdStr), b))];
        _channels = new MultifdRecvChannel?[p.MultifdChannels];
        _compression = p.MultifdCompression;
        _fail = fail;
        _log = log;
    }

    internal RamLoader Loader { get; }

    /// <summary>Pages placed by every channel so far.</summary>
    public long PagesPlaced
    {
        get
        {
            long n = 0;
            foreach (MultifdRecvChannel? c in _channels)
            {
                n += c?.PagesPlaced ?? 0;
            }

            return n;
        }
    }

    /// <summary>Accepts the channels on <paramref name="listener"/>, which this receiver now owns and closes.</summary>
    public void Start(MigrationListener listener)
    {
        _listener = listener;
        new Thread(AcceptChannels) { Name = "mig/dst/accept", IsBackground = true }.Start();
    }

    /// <summary>QEMU multifd_recv_new_channel for each expected channel, in whatever order they come.</summary>
    private void AcceptChannels()
    {
        try
        {
            for (int accepted = 0; accepted < _channels.Length; accepted++)
            {
                MigrationConnection connection = _listener!.Accept();
                connection.LimitQueuedBytes(MultifdSender.SocketBufferBytes);
                var input = MigrationStream.ForReading(connection.Stream);
                MultifdRecvChannel channel;
                lock (_lock)
                {
                    MultifdInitPacket init;
                    try
                    {
                        init = MultifdInitPacket.Read(input.ReadSpan(MultifdInitPacket.Size), _channels.Length);
                        if (_channels[init.ChannelId] != null)
                        {
                            throw new MigrationStreamException($"multifd: received a second channel {init.ChannelId}");
                        }
                    }
                    catch
                    {
                        connection.Close();
                        throw;
                    }

                    if (_closing)
                    {
                        connection.Close();
                        return;
                    }

                    channel = new MultifdRecvChannel(this, init.ChannelId, connection, input, _compression);
                    _channels[init.ChannelId] = channel;
                    Monitor.PulseAll(_lock);
                }

                channel.Start();
            }

            _log.Information("multifd: {Channels} channels connected, compression {Compression}", _channels.Length, _compression.ToQmp());
        }
        catch (Exception e) when (e is MigrationStreamException or IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Failed(e.Message.StartsWith("multifd:", StringComparison.Ordinal) ? e.Message : $"multifd: accepting a channel failed: {e.Message}");
        }
        finally
        {
            _listener?.Dispose();
        }
    }

    /// <summary>
    /// QEMU multifd_recv_sync_main, at the main channel's MULTIFD_FLUSH: waits until every channel is connected and
    /// stopped at its sync packet, then releases them all. Throws the first channel failure.
    /// </summary>
    public void SyncMain()
    {
        lock (_lock)
        {
            while (true)
            {
                if (_error != null || _closing)
                {
                    throw new MigrationStreamException(_error ?? "multifd: channels closed");
                }

                bool all = true;
                foreach (MultifdRecvChannel? c in _channels)
                {
                    if (c is { Ended: true, AtSync: false })
                    {
                        throw new MigrationStreamException($"multifd: channel {c.Id}: closed by the source before the sync point");
                    }

                    all &= c is { AtSync: true };
                }

                if (all)
                {
                    break;
                }

                Monitor.Wait(_lock);
            }

            foreach (MultifdRecvChannel? c in _channels)
            {
                c!.AtSync = false;
            }

            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>A channel thread at a sync packet: waits for <see cref="SyncMain"/>; false when the migration ends.</summary>
    internal bool WaitAtSync(MultifdRecvChannel c)
    {
        lock (_lock)
        {
            c.AtSync = true;
            Monitor.PulseAll(_lock);
            while (c.AtSync && _error == null && !_closing)
            {
                Monitor.Wait(_lock);
            }

            return !c.AtSync;
        }
    }

    /// <summary>A channel thread: the source closed its connection between packets.</summary>
    internal void ChannelEnded(MultifdRecvChannel c)
    {
        lock (_lock)
        {
            c.Ended = true;
            Monitor.PulseAll(_lock);
        }
    }

    internal void ChannelFailed(MultifdRecvChannel c, string message, Exception? bug = null)
    {
        if (bug != null)
        {
            _log.Error(bug, "multifd: channel {Channel}: internal error", c.Id);
        }

        Failed(message.StartsWith("multifd:", StringComparison.Ordinal) ? message : $"multifd: channel {c.Id}: {message}");
    }

    private void Failed(string message)
    {
        lock (_lock)
        {
            if (_closing || _error != null)
            {
                return;
            }

            _error = message;
            Monitor.PulseAll(_lock);
        }

        // The person sees this once, as the process's one error line (the incoming failure); the log keeps it too.
        _log.Information("multifd: {Error}", message);
        _fail(message);
    }

    /// <summary>The block named <paramref name="idStr"/>, or null; compares bytes, so it allocates nothing.</summary>
    internal RamBlock? FindBlock(ReadOnlySpan<byte> idStr)
    {
        foreach ((byte[] name, RamBlock block) in _blocks)
        {
            if (idStr.SequenceEqual(name))
            {
                return block;
            }
        }

        return null;
    }

    /// <summary>
    /// The incoming migration is over (completed or failed): channels stop, connections and the listener close; a
    /// connection ending from here on is no failure.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _closing = true;
            Monitor.PulseAll(_lock);
        }

        _listener?.Dispose();
        foreach (MultifdRecvChannel? c in _channels)
        {
            c?.Close();
        }

        _log.Debug("multifd: receiving channels closed after {Pages} pages", PagesPlaced);
    }
}
