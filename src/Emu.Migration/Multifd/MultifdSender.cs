using System.Text;
using Emu.Machine.Memory;
using Emu.Migration.Stream;
using Emu.Migration.Transport;
using Serilog;

namespace Emu.Migration.Multifd;

/// <summary>
/// The source's multifd channels (QEMU multifd_send_state): <see cref="Connect"/> opens multifd-channels extra
/// connections to the destination's URI and starts a thread on each; the migration thread hands them batches of
/// pages (<see cref="QueuePage"/>, QEMU multifd_queue_page) and makes every channel reach a sync point
/// (<see cref="SyncMain"/>, multifd_send_sync_main) before it writes RAM_SAVE_FLAG_MULTIFD_FLUSH on the main
/// channel. A channel that fails latches the error; the migration thread's next call throws it, so the migration
/// fails and the source guest keeps running.
/// </summary>
/// <remarks>
/// One lock guards every channel's job fields and the error; waits are <see cref="Monitor.Wait(object)"/> on it,
/// so a failure or <see cref="Dispose"/> wakes every waiter. The migration thread alone calls QueuePage and
/// SyncMain. Allocation-free per page and per packet.
/// </remarks>
public sealed class MultifdSender : IDisposable
{
    private readonly object _lock = new();
    private readonly RamBlock[] _blocks;
    private readonly byte[][] _idStrs;
    private readonly MultifdSendChannel[] _channels;
    private readonly MigrationStats _stats;
    private readonly ILogger _log;
    private readonly ManualResetEventSlim _threadsStarted = new();
    private bool _threadsStarting;
    private MultifdPages _pending = new();
    private int _nextChannel;
    private long _packetNum;
    private long _unaccountedBytes;
    private long _payloadBytes;
    private MigrationStreamException? _error;
    private bool _quit;

    private MultifdSender(IReadOnlyList<RamBlock> blocks, int channels, MigrationStats stats, ILogger log)
    {
        _blocks = [.. blocks];
        _idStrs = [.. _blocks.Select(b => Encoding.ASCII.GetBytes(b.IdStr))];
        _channels = new MultifdSendChannel[channels];
        _stats = stats;
        _log = log;
    }

    internal RamBlock[] Blocks => _blocks;

    /// <summary>Packets sent on every channel so far, and those of them sent raw because they did not compress.</summary>
    public (long Packets, long Uncompressed) PacketCounts
    {
        get
        {
            long packets = 0, raw = 0;
            foreach (MultifdSendChannel? c in _channels)
            {
                packets += c?.Packets ?? 0;
                raw += c?.UncompressedPackets ?? 0;
            }

            return (packets, raw);
        }
    }

    /// <summary>
    /// QEMU multifd_save_setup + multifd_new_send_channel_create: connects every channel to <paramref name="uri"/> (a
    /// tcp: or unix: one), sends its initial packet and starts its thread. A connection that fails fails the setup,
    /// with the channels opened so far closed.
    /// </summary>
    public static MultifdSender Connect(MigrationUri uri, MigrationParameters p, IReadOnlyList<RamBlock> blocks, MigrationStats stats,
        Action<Action> registerAbort, ILogger log)
    {
        var sender = new MultifdSender(blocks, (int)p.MultifdChannels, stats, log);
        int level = (int)(p.MultifdCompression == MultifdCompression.Zstd ? p.MultifdZstdLevel : p.MultifdZlibLevel);
        try
        {
            for (int i = 0; i < sender._channels.Length; i++)
            {
                MigrationConnection connection;
                try
                {
                    connection = MigrationConnection.Connect(uri, registerAbort);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    throw new MigrationStreamException($"multifd: channel {i}: cannot connect to {uri}: {e.Message}", e);
                }

                connection.LimitQueuedBytes(SocketBufferBytes);
                var channel = new MultifdSendChannel(sender, i, connection, p.MultifdCompression, level);
                sender._channels[i] = channel;
                channel.SendInitialPacket();
            }
        }
        catch
        {
            sender.Dispose();
            throw;
        }

        // Off the migration thread: Thread.Start returns only once the new thread runs (1-8 ms each on two busy
        // cores, measured inside setup), and the channels need their threads only when the first batch is handed
        // over; a job given before then waits in its channel.
        sender._threadsStarting = true;
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.StartChannelThreads(), sender, preferLocal: false);

        log.Information("multifd: {Channels} channels to {Uri}, compression {Compression}", sender._channels.Length, uri.ToString(), p.MultifdCompression.ToQmp());
        return sender;
    }

    /// <summary>
    /// Bytes a channel's socket may hold in each direction's kernel buffer (SO_SNDBUF here, SO_RCVBUF on the
    /// destination; the kernel doubles both). Compressed pages are tiny on the wire but not to decode: with the main
    /// channel's 4 MiB, a channel could queue hundreds of MiB of pages ahead of a slower destination, and a switchover
    /// would wait for all of them. A small buffer keeps the source's measure of progress close to the destination's.
    /// </summary>
    public const int SocketBufferBytes = 128 << 10;

    /// <summary>
    /// QEMU multifd_queue_page: adds a page to the batch; a full batch, or a page of another block, sends the batch
    /// first. Bytes the channels have written since the last call are charged to <paramref name="main"/>'s rate
    /// limit, as QEMU 7.2 charges multifd pages to the main file's.
    /// </summary>
    public void QueuePage(MigrationStream main, int block, ulong offset)
    {
        if (_pending.Count > 0 && (_pending.Block != block || _pending.IsFull))
        {
            SendPending();
        }

        _pending.Add(block, offset);
        main.AccountRateLimit(Interlocked.Exchange(ref _unaccountedBytes, 0));
    }

    /// <summary>
    /// QEMU multifd_send_sync_main: the pending batch goes out, then every channel sends a packet with
    /// <see cref="MultifdFlags.Sync"/> after all it had; returns when every channel has written it. The caller then
    /// writes RAM_SAVE_FLAG_MULTIFD_FLUSH on the main channel, where the destination waits for every channel to
    /// reach that packet. With <paramref name="waitForChannels"/> false it returns once every sync is handed over:
    /// the setup's, where the channels have sent nothing before it and their threads may not run yet (they are
    /// started in the background); the next batch waits for an idle channel anyway.
    /// </summary>
    public void SyncMain(MigrationStream main, bool waitForChannels = true)
    {
        if (_pending.Count > 0)
        {
            SendPending();
        }

        lock (_lock)
        {
            foreach (MultifdSendChannel c in _channels)
            {
                WaitIdle(c);
                c.SyncRequested = true;
                c.HasJob = true;
                Monitor.PulseAll(_lock);
            }

            if (waitForChannels)
            {
                foreach (MultifdSendChannel c in _channels)
                {
                    WaitIdle(c);
                }
            }
        }

        main.AccountRateLimit(Interlocked.Exchange(ref _unaccountedBytes, 0));
    }

    /// <summary>QEMU multifd_send_pages: the batch to the next idle channel (round robin), whose empty one comes back.</summary>
    private void SendPending()
    {
        lock (_lock)
        {
            while (true)
            {
                ThrowIfFailed();
                for (int i = 0; i < _channels.Length; i++)
                {
                    MultifdSendChannel c = _channels[(_nextChannel + i) % _channels.Length];
                    if (!c.HasJob)
                    {
                        _nextChannel = (c.Id + 1) % _channels.Length;
                        (c.Pages, _pending) = (_pending, c.Pages);
                        c.SyncRequested = false;
                        c.HasJob = true;
                        Monitor.PulseAll(_lock);
                        return;
                    }
                }

                Monitor.Wait(_lock);
            }
        }
    }

    /// <summary>Waits, holding the lock, until <paramref name="c"/> has no job; throws a channel's failure.</summary>
    private void WaitIdle(MultifdSendChannel c)
    {
        while (true)
        {
            ThrowIfFailed();
            if (!c.HasJob)
            {
                return;
            }

            Monitor.Wait(_lock);
        }
    }

    private void ThrowIfFailed()
    {
        if (_error != null)
        {
            throw new MigrationStreamException(_error.Message, _error);
        }

        if (_quit)
        {
            throw new MigrationStreamException("multifd: channels closed");
        }
    }

    /// <summary>A channel thread: waits for its next job; false when the channels are closing.</summary>
    internal bool WaitForJob(MultifdSendChannel c)
    {
        lock (_lock)
        {
            while (!c.HasJob)
            {
                if (_quit || _error != null)
                {
                    return false;
                }

                Monitor.Wait(_lock);
            }

            return !_quit && _error == null;
        }
    }

    /// <summary>A channel thread: its packet is written.</summary>
    internal void JobDone(MultifdSendChannel c)
    {
        lock (_lock)
        {
            c.SyncRequested = false;
            c.HasJob = false;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>A channel thread failed: the first failure is the migration's error; every waiter wakes to it.</summary>
    internal void ChannelFailed(MultifdSendChannel c, Exception e)
    {
        lock (_lock)
        {
            if (_quit)
            {
                return;
            }

            if (_error == null)
            {
                _error = e as MigrationStreamException is { } m && m.Message.StartsWith("multifd:", StringComparison.Ordinal)
                    ? m
                    : new MigrationStreamException($"multifd: channel {c.Id}: send failed: {e.Message}", e);
                _log.Error("multifd: channel {Channel} failed: {Error}", c.Id, _error.Message);
            }

            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// What the packets sent so far would have taken uncompressed (headers and raw pages): the measure of how fast
    /// pending RAM moves, for the switchover threshold, where compressed bytes would make it look many times slower.
    /// </summary>
    public long PayloadBytes => Volatile.Read(ref _payloadBytes);

    internal void AddPayloadBytes(long bytes) => Interlocked.Add(ref _payloadBytes, bytes);

    internal ulong NextPacketNum() => (ulong)Interlocked.Increment(ref _packetNum) - 1;

    internal ReadOnlySpan<byte> IdStr(int block) => _idStrs[block];

    /// <summary>Bytes a channel wrote: query-migrate's multifd-bytes, and the main channel's rate limit.</summary>
    internal void AddBytes(long bytes)
    {
        _stats.AddMultifdBytes(bytes);
        Interlocked.Add(ref _unaccountedBytes, bytes);
    }

    private void StartChannelThreads()
    {
        try
        {
            foreach (MultifdSendChannel c in _channels)
            {
                c.Start();
            }
        }
        finally
        {
            _threadsStarted.Set();
        }
    }

    /// <summary>QEMU multifd_save_cleanup: threads told to stop, connections shut so a blocked write ends.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _quit = true;
            Monitor.PulseAll(_lock);
        }

        foreach (MultifdSendChannel? c in _channels)
        {
            c?.Close();
        }

        // A thread started after _quit sees it at its first wait and ends at once.
        if (_threadsStarting)
        {
            _threadsStarted.Wait(TimeSpan.FromSeconds(5));
        }

        foreach (MultifdSendChannel? c in _channels)
        {
            // The compressor's native context is freed only once its thread has ended: freed under a running
            // compression it would be a use after free.
            if (c?.Join(TimeSpan.FromSeconds(5)) == true)
            {
                c.DisposeCompressor();
            }
        }

        (long packets, long raw) = PacketCounts;
        _log.Debug("multifd: channels closed after {Packets} packets ({Uncompressed} sent raw), {Bytes} bytes", packets, raw, _stats.MultifdBytes);
    }
}
