using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emu.Machine.Memory;
using Serilog;

namespace Emu.Migration.Postcopy;

/// <summary>
/// The destination's page-fault side ("mig/dst/fault", QEMU postcopy_ram_fault_thread with userfaultfd done in
/// software). A vCPU or device that touches a page not yet received calls <see cref="WaitForPage"/>: the first
/// caller for a page sends its REQ_PAGES itself (naming the block only when it differs from the previous request's)
/// and every caller parks until the listen thread places the page and calls <see cref="PagePlaced"/>. While the
/// return path is down (postcopy-paused) requests stay outstanding; the fault thread sends them all again after the
/// recovery. <see cref="Fail"/> wakes every waiter with <see cref="GuestPageUnavailableException"/>.
/// </summary>
/// <remarks>
/// Threads: waiters (vcpu/0, devices, QMP), the fault thread, the listen and preempt threads (placement). One lock
/// guards the queue, the outstanding set and the wait; a placement publishes the received bit before it takes the
/// lock, and a waiter re-checks the bit under the lock, so no wake-up is lost.
/// </remarks>
public sealed class PostcopyFaultThread : IPageFaultHandler
{
    private readonly object _lock = new();

    // Serialises the request senders (the faulting threads and the fault thread); guards _lastBlock and _sendBatch.
    private readonly object _sendLock = new();
    private readonly List<ReturnPathMessage> _sendBatch = [];
    private readonly DestinationReturnPath _returnPath;
    private readonly PostcopyBlocktime? _blocktime;
    private readonly ILogger _log;
    private readonly Queue<(RamBlock Block, int Page)> _queue = new();

    // QEMU mis->page_requested: pages asked for and not placed yet → when the request went out (0: not yet).
    private readonly Dictionary<(RamBlock, int), long> _outstanding = [];

    // Pages somebody is parked on → how many are parked on each. A placement wakes the waiters only when its page
    // is here: waking every parked vCPU for every background page costs a context switch per page.
    private readonly Dictionary<(RamBlock, int), int> _awaited = [];
    private PrestartedThread? _thread;
    private RamBlock? _lastBlock;
    private string? _failure;
    private bool _quit;
    private bool _wakeDue;
    private long _requestsSent;

    public PostcopyFaultThread(DestinationReturnPath returnPath, PostcopyBlocktime? blocktime, ILogger log)
    {
        _returnPath = returnPath;
        _blocktime = blocktime;
        _log = log;
    }

    /// <summary>Request-sent → page-placed latency of every remote fault.</summary>
    public FaultLatencyHistogram Latency { get; } = new();

    /// <summary>REQ_PAGES messages sent (re-sends after a recovery included).</summary>
    public long RequestsSent => Interlocked.Read(ref _requestsSent);

    /// <summary>Pages asked for and not placed yet.</summary>
    public int Outstanding
    {
        get
        {
            lock (_lock)
            {
                return _outstanding.Count;
            }
        }
    }

    public void Start() => RunOn(new PrestartedThread(ThreadName));

    /// <summary>Starts on a thread made ahead of time (<see cref="PrestartedThread"/>, named <see cref="ThreadName"/>).</summary>
    public void RunOn(PrestartedThread thread)
    {
        _thread = thread;
        thread.Run(Run);
    }

    public const string ThreadName = "mig/dst/fault";

    /// <summary>QEMU postcopy_ram_incoming_cleanup's fault-thread part: stop and join.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            _quit = true;
            Monitor.PulseAll(_lock);
        }

        if (_thread is { IsAlive: true, IsCurrent: false } t)
        {
            t.Join();
        }
    }

    /// <summary>The source is lost for good: every parked accessor wakes with <paramref name="reason"/>.</summary>
    public void Fail(string reason)
    {
        lock (_lock)
        {
            _failure ??= reason;
            _quit = true;
            Monitor.PulseAll(_lock);
        }
    }

    public void WaitForPage(RamBlock block, int pageIndex)
    {
        ReceivedBitmap? received = block.Received;
        if (received == null || received.IsReceived(pageIndex))
        {
            return;
        }

        int vcpu = _blocktime?.CurrentVcpu() ?? -1;
        if (vcpu >= 0)
        {
            _blocktime!.Begin(vcpu, block, pageIndex, Stopwatch.GetTimestamp());
        }

        try
        {
            bool requestNow;
            lock (_lock)
            {
                requestNow = !received.IsReceived(pageIndex) && _outstanding.TryAdd((block, pageIndex), 0);
                CollectionsMarshal.GetValueRefOrAddDefault(_awaited, (block, pageIndex), out _)++;
            }

            try
            {
                if (requestNow)
                {
                    Request(block, pageIndex);
                }

                lock (_lock)
                {
                    while (!received.IsReceived(pageIndex))
                    {
                        if (_failure != null)
                        {
                            throw new GuestPageUnavailableException(
                                $"postcopy: page 0x{(ulong)pageIndex << RamBlock.PageShift:x} of '{block.IdStr}' can never arrive: {_failure}");
                        }

                        Monitor.Wait(_lock);
                    }
                }
            }
            finally
            {
                lock (_lock)
                {
                    if (--CollectionsMarshal.GetValueRefOrNullRef(_awaited, (block, pageIndex)) == 0)
                    {
                        _awaited.Remove((block, pageIndex));
                    }
                }
            }
        }
        finally
        {
            if (vcpu >= 0)
            {
                _blocktime!.Resumed(vcpu, Stopwatch.GetTimestamp());
            }
        }
    }

    /// <summary>
    /// Called by the placing thread after the page's received bit is published (QEMU postcopy_place_page's
    /// wake-up): records the fault latency if the page was requested and, if somebody is parked on it, makes a
    /// wake-up due. The wake-up itself is <see cref="WakeWaiters"/>, which the placing thread calls before it could
    /// block: a vCPU woken per page runs a few instructions, parks on the next page still in the buffer, and the
    /// sleep/wake round trip per page became the stream's speed limit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void PagePlaced(RamBlock block, int pageIndex)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (_outstanding.Remove((block, pageIndex), out long sentAt) && sentAt != 0)
            {
                Latency.Record(now - sentAt);
            }

            if (_awaited.ContainsKey((block, pageIndex)))
            {
                _wakeDue = true;
                _blocktime?.PagePlaced(block, pageIndex, now);
            }
        }
    }

    /// <summary>Wakes the accessors parked on pages placed since the last call (cheap when none are).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WakeWaiters()
    {
        lock (_lock)
        {
            if (_wakeDue)
            {
                _wakeDue = false;
                Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>
    /// After a recovery (POSTCOPY_RESUME): the next request names its block, and every outstanding request is sent
    /// again (QEMU migrate_send_rp_req_pages_pending).
    /// </summary>
    public void ResendOutstanding()
    {
        lock (_sendLock)
        {
            _lastBlock = null;
        }

        lock (_lock)
        {
            _queue.Clear();
            foreach ((RamBlock b, int p) in _outstanding.Keys)
            {
                _queue.Enqueue((b, p));
            }

            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// Sends the request for a page the caller is about to park on from the caller's own thread: a hand-over to the
    /// fault thread would add a thread wake-up to every remote fault, and on a busy host each wake-up can wait for a
    /// core. While the return path is down the page goes to the fault thread's queue, which waits for the recovery.
    /// </summary>
    private void Request(RamBlock block, int pageIndex)
    {
        if (_returnPath.IsOpen && TrySend([(block, pageIndex)]))
        {
            return;
        }

        lock (_lock)
        {
            _queue.Enqueue((block, pageIndex));
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// QEMU migrate_send_rp_req_pages for each page: the whole host page, the block named only when it differs from
    /// the previous request's. Records when the requests went out; false if the link broke (they stay outstanding,
    /// and <see cref="ResendOutstanding"/> queues them again after the recovery).
    /// </summary>
    private bool TrySend(ReadOnlySpan<(RamBlock Block, int Page)> pages)
    {
        long sentAt;
        lock (_sendLock)
        {
            _sendBatch.Clear();
            foreach ((RamBlock b, int p) in pages)
            {
                _sendBatch.Add(ReturnPathMessage.ReqPages(b == _lastBlock ? null : b.IdStr, (ulong)p << RamBlock.PageShift, RamBlock.PageSize));
                _lastBlock = b;
            }

            sentAt = Stopwatch.GetTimestamp();
            if (!_returnPath.TrySendBatch(CollectionsMarshal.AsSpan(_sendBatch)))
            {
                _lastBlock = null;
                _log.Warning("postcopy: sending {Count} page requests failed; waiting for recovery", pages.Length);
                return false;
            }
        }

        Interlocked.Add(ref _requestsSent, pages.Length);
        lock (_lock)
        {
            foreach ((RamBlock, int) k in pages)
            {
                if (_outstanding.ContainsKey(k))
                {
                    _outstanding[k] = sentAt;
                }
            }
        }

        return true;
    }

    /// <summary>Sends the queued requests: those made while the return path was down, and every re-send after a recovery.</summary>
    private void Run()
    {
        var pages = new List<(RamBlock, int)>();
        while (true)
        {
            lock (_lock)
            {
                while (!_quit && (_queue.Count == 0 || !_returnPath.IsOpen))
                {
                    // Paused (no return path): QEMU waits on postcopy_pause_sem_fault; requests stay outstanding.
                    Monitor.Wait(_lock, _queue.Count == 0 ? Timeout.Infinite : 50);
                }

                if (_quit)
                {
                    return;
                }

                pages.Clear();
                while (_queue.Count > 0)
                {
                    (RamBlock b, int p) = _queue.Dequeue();
                    if (b.Received?.IsReceived(p) != false)
                    {
                        _outstanding.Remove((b, p));
                        continue;
                    }

                    pages.Add((b, p));
                }
            }

            if (pages.Count > 0)
            {
                TrySend(CollectionsMarshal.AsSpan(pages));
            }
        }
    }
}
