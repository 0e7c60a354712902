using System.Net.Sockets;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Serilog;

namespace Emu.Migration.Postcopy;

/// <summary>
/// The source's return-path thread ("mig/src/return", QEMU source_return_path_thread): reads the destination's
/// messages. REQ_PAGES(_ID) are queued for the migration thread or, with postcopy-preempt, sent at once on the
/// preempt channel from here; RECV_BITMAP reloads the dirty bitmap during a recovery; PONG, SHUT and RESUME_ACK
/// are recorded for the migration thread to wait on (and a PONG kicks it). Any bad message or read error ends the thread with
/// <see cref="Error"/> set (the return path is bad): the migration thread then fails or pauses.
/// </summary>
public sealed class SourceReturnPath
{
    private readonly MigrationStream _in;
    private readonly RamSaver _ram;
    private readonly Func<bool> _inRecovery;
    private readonly Action _kick;
    private readonly ILogger _log;
    private readonly object _lock = new();
    private readonly Thread _thread;
    private PreemptChannel? _preempt;
    // Bit v set: a PONG(v) arrived, for v below 32 (the source's pings are 1–5). Pongs of one switch come back in
    // the order of their pings, but a waiter may look only after the next one arrived, so "last" would not do.
    private uint _pongsReceived;
    private int _bitmapsReceived;
    private bool _resumeAcked;
    private bool _ended;

    public SourceReturnPath(MigrationStream input, RamSaver ram, Func<bool> inRecovery, Action kick, ILogger log)
    {
        _in = input;
        _ram = ram;
        _inRecovery = inRecovery;
        _kick = kick;
        _log = log;
        _thread = new Thread(Run) { Name = "mig/src/return", IsBackground = true };
    }

    /// <summary>Why the return path went bad, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>The SHUT status, once received.</summary>
    public uint? ShutStatus { get; private set; }

    /// <summary>Postcopy-preempt: where the return-path thread sends requested pages itself (null: queue them).</summary>
    public PreemptChannel? Preempt
    {
        get => Volatile.Read(ref _preempt);
        set => Volatile.Write(ref _preempt, value);
    }

    public void Start() => _thread.Start();

    /// <summary>Shuts the reader (QEMU: shutdown of the return-path file) and waits for the thread.</summary>
    public void Stop()
    {
        _in.Close();
        if (Thread.CurrentThread != _thread && _thread.IsAlive)
        {
            _thread.Join();
        }
    }

    /// <summary>QEMU await_return_path_close_on_source: waits for SHUT or the end of the thread.</summary>
    public bool WaitForEnd(TimeSpan timeout) => _thread.Join(timeout);

    /// <summary>Waits for a PONG carrying <paramref name="value"/> (below 32) or the end of the return path.</summary>
    public bool WaitForPong(uint value, TimeSpan timeout) => WaitFor(() => HasPong(value), timeout);

    /// <summary>True once a PONG carrying <paramref name="value"/> (below 32) arrived on this return path.</summary>
    public bool HasPong(uint value) => value < 32 && (Volatile.Read(ref _pongsReceived) & (1u << (int)value)) != 0;

    /// <summary>Waits until <paramref name="count"/> received bitmaps were reloaded (migration_rp_wait).</summary>
    public bool WaitForBitmaps(int count, TimeSpan timeout) => WaitFor(() => _bitmapsReceived >= count, timeout);

    /// <summary>Waits for RESUME_ACK(1).</summary>
    public bool WaitForResumeAck(TimeSpan timeout) => WaitFor(() => _resumeAcked, timeout);

    private bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (!condition())
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (_ended || left <= TimeSpan.Zero)
                {
                    return false;
                }

                Monitor.Wait(_lock, left);
            }

            return true;
        }
    }

    private void Signal(Action update)
    {
        lock (_lock)
        {
            update();
            Monitor.PulseAll(_lock);
        }
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                ReturnPathMessage m = ReturnPathMessage.Read(_in);
                switch (m.Type)
                {
                    case ReturnPathMessageType.Shut:
                        Signal(() => ShutStatus = m.Value);
                        if (m.Value != 0)
                        {
                            Error = $"RP: Sibling indicated error {m.Value}";
                        }

                        return;
                    case ReturnPathMessageType.Pong:
                        Signal(() => _pongsReceived |= m.Value < 32 ? 1u << (int)m.Value : 0);

                        // The migration thread may hold its background pages until a PONG (AwaitDestinationRun).
                        _kick();
                        break;
                    case ReturnPathMessageType.ReqPages:
                    case ReturnPathMessageType.ReqPagesId:
                        HandleRequest(m);
                        break;
                    case ReturnPathMessageType.RecvBitmap:
                        if (!_inRecovery())
                        {
                            throw new MigrationStreamException($"RP: RECV_BITMAP for '{m.IdStr}' outside postcopy-recover");
                        }

                        ulong[] words = ReceivedBitmapFormat.Read(_in, m.IdStr!, PageCountOf(m.IdStr!));
                        _ram.ReloadBitmap(m.IdStr!, words);
                        Signal(() => _bitmapsReceived++);
                        _kick();
                        break;
                    case ReturnPathMessageType.ResumeAck:
                        if (m.Value != ReturnPathMessage.ResumeAckValue)
                        {
                            throw new MigrationStreamException($"RP: RESUME_ACK with value {m.Value}, expected {ReturnPathMessage.ResumeAckValue}");
                        }

                        Signal(() => _resumeAcked = true);
                        _kick();
                        break;
                    default:
                        break;
                }
            }
        }
        catch (Exception e) when (e is MigrationStreamException or IOException or SocketException or ObjectDisposedException)
        {
            Error ??= e.Message;
            _log.Information("migration: return path ended: {Error}", Error);
        }
        finally
        {
            Signal(() => _ended = true);
            _kick();
        }
    }

    private void HandleRequest(ReturnPathMessage m)
    {
        PreemptChannel? preempt = Preempt;
        if (preempt != null)
        {
            preempt.SendUrgent(_ram, m.IdStr, m.Start, m.Length);
            return;
        }

        _ram.QueuePages(m.IdStr, m.Start, m.Length);
        _kick();
    }

    private int PageCountOf(string idStr)
    {
        foreach (Emu.Machine.Memory.RamBlock b in _ram.Blocks)
        {
            if (b.IdStr == idStr)
            {
                return b.PageCount;
            }
        }

        throw new MigrationStreamException($"RP: RECV_BITMAP for unknown RAMBlock '{idStr}'");
    }
}
