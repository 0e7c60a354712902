using System.Diagnostics;
using Emu.Machine.Board;
using Emu.Machine.Memory;
using Emu.Migration.Precopy;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;
using Serilog;
using IoStream = System.IO.Stream;

namespace Emu.Migration.Postcopy;

/// <summary>
/// The destination's command records (QEMU loadvm_process_command and the loadvm_postcopy_handle_* family):
/// return path, ping, advise, discard, listen, run, packaged, resume and recv-bitmap. At LISTEN it installs the
/// received bitmaps and the fault thread and starts the listen thread that reads the rest of the stream while the
/// guest runs; at RUN the guest starts. Recovery and the end of postcopy are in the other part of this class.
/// </summary>
public sealed partial class PostcopyIncoming : IVmCommandHandler
{
    /// <summary>QEMU MAX_VM_CMD_PACKAGED_SIZE: the largest device-state package accepted.</summary>
    public const int MaxPackagedSize = 1 << 24;

    private readonly IMigratableMachine _machine;
    private readonly MigrationStateMachine _state;
    private readonly MigrationOptions _options;
    private readonly RamLoader _ram;
    private readonly Func<VmStateLoader> _packageLoader;
    private readonly Action<string> _requireDeviceState;
    private readonly Action _startGuest;
    private readonly ILogger _log;
    private readonly Dictionary<string, RamBlock> _blocks = new(StringComparer.Ordinal);

    // Pages named by POSTCOPY_RAM_DISCARD, per block, until LISTEN turns them into missing pages.
    private readonly Dictionary<RamBlock, ulong[]> _discarded = [];
    private int _state32;
    private long _listenStartTicks;

    // The main channel's loader count at LISTEN: pages it placed after that are postcopy pages.
    private long _mainPagesAtListen;

    // Pages placed by preempt-channel loaders that have ended (one per connection, so a recovery adds another).
    private long _preemptPagesPlaced;

    // The fault and listen threads, started at ADVISE so that LISTEN, inside the guest's pause, only wakes them.
    private PrestartedThread? _faultHost;
    private PrestartedThread? _listenHost;

    internal PostcopyIncoming(IMigratableMachine machine, MigrationStateMachine state, MigrationOptions options, RamLoader ram,
        Func<VmStateLoader> packageLoader, Action<string> requireDeviceState, Action startGuest, ILogger log)
    {
        _machine = machine;
        _state = state;
        _options = options;
        _ram = ram;
        _packageLoader = packageLoader;
        _requireDeviceState = requireDeviceState;
        _startGuest = startGuest;
        _log = log;
        foreach (RamBlock b in machine.RamBlocks)
        {
            _blocks.Add(b.IdStr, b);
        }

        if (options.Has(MigrationCapability.PostcopyBlocktime))
        {
            Blocktime = new PostcopyBlocktime(VcpuCount);
        }
    }

    /// <summary>vCPUs of the machine (PcMachine has one), for blocktime.</summary>
    public const int VcpuCount = 1;

    public PostcopyState State => (PostcopyState)Volatile.Read(ref _state32);

    public DestinationReturnPath ReturnPath { get; } = new();

    /// <summary>The incoming channel's stream: the return path is its other direction.</summary>
    public IoStream? Channel { get; set; }

    /// <summary>Called at LISTEN to run the listen loop on the main stream, on the thread it is given.</summary>
    public Action<PrestartedThread>? StartListening { get; set; }

    /// <summary>
    /// Set once the main thread has handled RUN (or ended its load otherwise): QEMU's main_thread_load_event. The
    /// listen thread can read the last page before the main thread gets to RUN in the package, and must not end
    /// postcopy under it.
    /// </summary>
    public ManualResetEventSlim MainThreadLoadDone { get; } = new(false);

    public PostcopyFaultThread? Fault { get; private set; }

    /// <summary>Per-vCPU and total blocktime, with the postcopy-blocktime capability.</summary>
    public PostcopyBlocktime? Blocktime { get; }

    /// <summary>Pages missing at LISTEN (discarded ranges).</summary>
    public long PagesMissingAtListen { get; private set; }

    /// <summary>
    /// Pages the main channel placed since LISTEN. Read by the listen thread, the only one that loads from the main
    /// channel after LISTEN, or once it has ended.
    /// </summary>
    public long MainChannelPagesPlaced => _ram.PagesLoaded - _mainPagesAtListen;

    /// <summary>Pages placed from preempt channels whose thread has ended (see <see cref="AddPreemptPagesPlaced"/>).</summary>
    public long PreemptChannelPagesPlaced => Interlocked.Read(ref _preemptPagesPlaced);

    /// <summary>
    /// A preempt channel's thread adds its loader's placed-page count when it ends, so counting costs the placement
    /// path nothing beyond the loader's own counter.
    /// </summary>
    internal void AddPreemptPagesPlaced(long pages) => Interlocked.Add(ref _preemptPagesPlaced, pages);

    /// <summary>Pages still missing now.</summary>
    public long PagesMissing
    {
        get
        {
            long n = 0;
            foreach (RamBlock b in _blocks.Values)
            {
                if (b.Received is { } r)
                {
                    n += b.PageCount - r.CountReceived();
                }
            }

            return n;
        }
    }

    public bool Handle(MigrationStream s, ushort command, ushort length)
    {
        long at = s.Position - 5;
        switch ((MigCommand)command)
        {
            case MigCommand.OpenReturnPath:
                ExpectLength(command, length, 0, at);
                ReturnPath.Open(Channel ?? throw new MigrationStreamException($"postcopy: OPEN_RETURN_PATH at stream offset 0x{at:x} on a channel without a return direction"));
                return true;
            case MigCommand.Ping:
                ExpectLength(command, length, 4, at);
                ReturnPath.TrySend(ReturnPathMessage.Pong(s.ReadU32()));
                return true;
            case MigCommand.PostcopyAdvise:
                HandleAdvise(s, length, at);
                return true;
            case MigCommand.PostcopyRamDiscard:
                HandleDiscard(s, length, at);
                return true;
            case MigCommand.PostcopyListen:
                ExpectLength(command, length, 0, at);
                HandleListen(at);
                return true;
            case MigCommand.PostcopyRun:
                ExpectLength(command, length, 0, at);
                HandleRun(at);
                return false;
            case MigCommand.Packaged:
                ExpectLength(command, length, 4, at);
                return HandlePackaged(s, at);
            case MigCommand.PostcopyResume:
                ExpectLength(command, length, 0, at);
                HandleResume(at);
                return true;
            case MigCommand.RecvBitmap:
                HandleRecvBitmap(s, length, at);
                return true;
            default:
                throw new MigrationStreamException($"savevm: unknown command {command} (length {length}) at stream offset 0x{at:x}");
        }
    }

    private static void ExpectLength(ushort command, ushort length, int expected, long at)
    {
        if (length != expected)
        {
            throw new MigrationStreamException($"savevm: command {(MigCommand)command} at stream offset 0x{at:x} has length {length}, expected {expected}");
        }
    }

    private void SetState(PostcopyState s) => Volatile.Write(ref _state32, (int)s);

    /// <summary>
    /// QEMU loadvm_postcopy_handle_advise: ignored unless postcopy-ram is on here too; the page sizes must be
    /// this build's 4 KiB.
    /// </summary>
    private void HandleAdvise(MigrationStream s, ushort length, long at)
    {
        if (length != 16)
        {
            throw new MigrationStreamException($"postcopy: ADVISE at stream offset 0x{at:x} has length {length}, expected 16");
        }

        ulong summary = s.ReadU64();
        ulong targetPageSize = s.ReadU64();
        if (!_options.Has(MigrationCapability.PostcopyRam))
        {
            return;
        }

        if (State != PostcopyState.None)
        {
            throw new MigrationStreamException($"postcopy: ADVISE at stream offset 0x{at:x} in state {State}, expected None");
        }

        if (summary != RamBlock.PageSize || targetPageSize != RamBlock.PageSize)
        {
            throw new MigrationStreamException($"postcopy: RAM page size mismatch at stream offset 0x{at:x}: source 0x{summary:x} (target 0x{targetPageSize:x}), destination 0x{RamBlock.PageSize:x}");
        }

        SetState(PostcopyState.Advise);
        _faultHost ??= new PrestartedThread(PostcopyFaultThread.ThreadName);
        _listenHost ??= new PrestartedThread(ListenThreadName);
    }

    private const string ListenThreadName = "mig/dst/listen";

    /// <summary>Ends the threads started at ADVISE if LISTEN never gave them work (a precopy that completed, a failure).</summary>
    public void ReleaseUnusedThreads()
    {
        _faultHost?.Cancel();
        _listenHost?.Cancel();
    }

    /// <summary>
    /// QEMU loadvm_postcopy_ram_handle_discard: version 0, the NUL-terminated block name, then (start, length)
    /// byte ranges, each page-aligned and inside the block.
    /// </summary>
    private void HandleDiscard(MigrationStream s, ushort length, long at)
    {
        if (State is not (PostcopyState.Advise or PostcopyState.Discard))
        {
            throw new MigrationStreamException($"postcopy: RAM_DISCARD at stream offset 0x{at:x} in state {State}, expected Advise or Discard");
        }

        if (State == PostcopyState.Advise)
        {
            // The first discard comes after the source stopped its vCPUs: the pause has begun.
            _machine.StopRamPrefault();
        }

        SetState(PostcopyState.Discard);
        if (length < 3)
        {
            throw new MigrationStreamException($"postcopy: RAM_DISCARD at stream offset 0x{at:x} has length {length}, at least 3");
        }

        byte version = s.ReadU8();
        if (version != 0)
        {
            throw new MigrationStreamException($"postcopy: RAM_DISCARD at stream offset 0x{at:x} has version {version}, expected 0");
        }

        string id = SaveVmWriter.ReadIdStr(s);
        int rangesBytes = length - 3 - id.Length;
        if (s.ReadU8() != 0 || rangesBytes < 0 || rangesBytes % 16 != 0)
        {
            throw new MigrationStreamException($"postcopy: RAM_DISCARD for '{id}' at stream offset 0x{at:x} is malformed (length {length})");
        }

        if (!_blocks.TryGetValue(id, out RamBlock? b))
        {
            throw new MigrationStreamException($"postcopy: RAM_DISCARD for unknown RAMBlock '{id}' at stream offset 0x{at:x}");
        }

        if (!_discarded.TryGetValue(b, out ulong[]? bm))
        {
            bm = new ulong[(b.PageCount + 63) / 64];
            _discarded.Add(b, bm);
        }

        for (int i = 0; i < rangesBytes / 16; i++)
        {
            ulong start = s.ReadU64();
            ulong len = s.ReadU64();
            if (((start | len) & (RamBlock.PageSize - 1)) != 0 || start >= b.SizeBytes || len > b.SizeBytes - start)
            {
                throw new MigrationStreamException($"postcopy: discard range 0x{start:x}+0x{len:x} at stream offset 0x{at:x} is not page-aligned inside '{id}' (0x{b.SizeBytes:x} bytes)");
            }

            MarkDiscarded(bm, (int)(start >> RamBlock.PageShift), (int)(len >> RamBlock.PageShift));
        }
    }

    /// <summary>
    /// Sets the bits of pages [first, first + count) a word at a time: the discard list comes inside the guest's
    /// pause and can name nearly all of RAM (64,769 of the 65,536 pages of the 256 MiB ab guest), which a loop per
    /// page took milliseconds to mark.
    /// </summary>
    internal static void MarkDiscarded(ulong[] bm, int first, int count)
    {
        int end = first + count;
        while (first < end)
        {
            int bit = first & 63;
            int n = Math.Min(64 - bit, end - first);
            bm[first >> 6] |= (n == 64 ? ulong.MaxValue : ((1UL << n) - 1)) << bit;
            first += n;
        }
    }

    /// <summary>
    /// QEMU postcopy_ram_enable_notify: every block gets a received bitmap (all pages but the discarded ones),
    /// the CPU caches are flushed so no TLB entry points at a missing page, the fault thread starts, then the
    /// listen thread. Unlike QEMU, a discarded page is not unmapped: it keeps its stale bytes, unreadable behind
    /// its clear received bit until the placement overwrites it. Unmapping made every placement take a kernel
    /// page fault and zero-fill, which was half the listen thread's time (QEMU's UFFDIO_COPY avoids that in-kernel).
    /// </summary>
    private void HandleListen(long at)
    {
        if (State is not (PostcopyState.Advise or PostcopyState.Discard))
        {
            throw new MigrationStreamException($"postcopy: LISTEN at stream offset 0x{at:x} in state {State}, expected Advise or Discard");
        }

        _machine.StopRamPrefault();
        _listenStartTicks = Stopwatch.GetTimestamp();
        _mainPagesAtListen = _ram.PagesLoaded;
        Fault = new PostcopyFaultThread(ReturnPath, Blocktime, _log);
        long missing = 0;
        foreach (RamBlock b in _blocks.Values)
        {
            _discarded.TryGetValue(b, out ulong[]? bm);
            var received = ReceivedBitmap.AllExcept(b.PageCount, bm);
            missing += b.PageCount - received.CountReceived();
            b.PageFaultHandler = Fault;
            b.Received = received;
        }

        _discarded.Clear();
        PagesMissingAtListen = missing;
        _machine.FlushCpuCaches();
        _ram.Postcopy = Fault;
        // Both threads exist: LISTEN is refused unless ADVISE (which starts them) came first.
        Fault.RunOn(_faultHost!);
        SetState(PostcopyState.Listening);
        _state.TrySet(MigrationStatus.Active, MigrationStatus.PostcopyActive);
        _log.Information("postcopy: listening, {Missing} pages missing", missing);
        StartListening?.Invoke(_listenHost!);
    }

    /// <summary>
    /// QEMU loadvm_postcopy_handle_run: the device state is complete (every expected section arrived, else the
    /// load is refused and the guest never runs); the guest starts now; the load loops that read the package quit.
    /// </summary>
    private void HandleRun(long at)
    {
        if (State != PostcopyState.Listening)
        {
            throw new MigrationStreamException($"postcopy: RUN at stream offset 0x{at:x} in state {State}, expected Listening");
        }

        _requireDeviceState("postcopy: the device state ended at RUN");
        SetState(PostcopyState.Running);
        _startGuest();
        MainThreadLoadDone.Set();
        _log.Information("postcopy: destination guest running, {Missing} pages still missing", PagesMissing);
    }

    /// <summary>
    /// QEMU loadvm_handle_cmd_packaged: the device state arrives as one blob, read off the channel whole before
    /// it is loaded, because loading may fault on pages that must come over the same channel.
    /// </summary>
    private bool HandlePackaged(MigrationStream s, long at)
    {
        uint length = s.ReadU32();
        if (length > MaxPackagedSize)
        {
            throw new MigrationStreamException($"postcopy: PACKAGED of {length} bytes at stream offset 0x{at:x}, at most {MaxPackagedSize}");
        }

        byte[] blob = new byte[length];
        s.ReadBytes(blob);
        using var package = MigrationStream.ForReading(new MemoryStream(blob, writable: false), MigrationStream.RecordBufferSize);
        VmStateLoader loader = _packageLoader();
        try
        {
            if (loader.LoadSections(package))
            {
                throw new MigrationStreamException($"postcopy: PACKAGED at stream offset 0x{at:x} ended with EOF before RUN");
            }
        }
        catch (MigrationStreamException e) when (!e.Message.StartsWith("postcopy:", StringComparison.Ordinal))
        {
            throw new MigrationStreamException($"postcopy: in PACKAGED at stream offset 0x{at:x}: {e.Message}", e);
        }

        // RUN returned LOADVM_QUIT: the main load loop ends too; the listen thread owns the stream now.
        return false;
    }

    /// <summary>QEMU loadvm_postcopy_handle_recv_bitmap: answer with this block's received bitmap.</summary>
    private void HandleRecvBitmap(MigrationStream s, ushort length, long at)
    {
        string id = SaveVmWriter.ReadIdStr(s);
        if (length != 1 + id.Length)
        {
            throw new MigrationStreamException($"postcopy: RECV_BITMAP at stream offset 0x{at:x} has length {length}, expected {1 + id.Length}");
        }

        if (_state.Current != MigrationStatus.PostcopyRecover)
        {
            throw new MigrationStreamException($"postcopy: RECV_BITMAP at stream offset 0x{at:x} in status {_state.Current.ToQmp()}, expected postcopy-recover");
        }

        if (!_blocks.TryGetValue(id, out RamBlock? b))
        {
            throw new MigrationStreamException($"postcopy: RECV_BITMAP for unknown RAMBlock '{id}' at stream offset 0x{at:x}");
        }

        if (!ReturnPath.TrySendRecvBitmap(b))
        {
            throw new MigrationStreamException($"postcopy: sending the received bitmap of '{id}' failed");
        }
    }

    /// <summary>
    /// QEMU loadvm_postcopy_handle_resume: acknowledge, back to postcopy-active, and re-send every request the
    /// guest is still waiting for.
    /// </summary>
    private void HandleResume(long at)
    {
        if (_state.Current != MigrationStatus.PostcopyRecover)
        {
            throw new MigrationStreamException($"postcopy: RESUME at stream offset 0x{at:x} in status {_state.Current.ToQmp()}, expected postcopy-recover");
        }

        if (!ReturnPath.TrySend(ReturnPathMessage.ResumeAck()))
        {
            throw new MigrationStreamException("postcopy: sending RESUME_ACK failed");
        }

        _state.TrySet(MigrationStatus.PostcopyRecover, MigrationStatus.PostcopyActive);
        Fault?.ResendOutstanding();
        _log.Information("postcopy: recovered; {Outstanding} page requests re-sent, {Missing} pages missing", Fault?.Outstanding ?? 0, PagesMissing);
    }

    /// <summary>
    /// QEMU postcopy_ram_incoming_cleanup once every page is in: the received bitmaps and the fault handler go
    /// (accesses are plain again), the fault thread stops, state end; the numbers the bench harness parses are
    /// logged in one line (see <see cref="ResultLogTemplate"/>), the latency histogram in another. The caller has
    /// joined the preempt thread, so its pages are counted.
    /// </summary>
    public void Finish()
    {
        foreach (RamBlock b in _blocks.Values)
        {
            b.Received = null;
            b.PageFaultHandler = null;
        }

        Fault?.Stop();
        SetState(PostcopyState.End);
        long postcopyMs = (long)Stopwatch.GetElapsedTime(_listenStartTicks).TotalMilliseconds;
        FaultLatencyHistogram? lat = Fault?.Latency;
        _log.Information(ResultLogTemplate,
            postcopyMs, Blocktime?.TotalMs ?? 0, string.Join(",", Blocktime?.VcpuMs ?? []), Fault?.RequestsSent ?? 0,
            lat?.PercentileUs(50) ?? 0, lat?.PercentileUs(99) ?? 0, PagesMissingAtListen,
            MainChannelPagesPlaced, PreemptChannelPagesPlaced, string.Join(",", Blocktime?.VcpuStallMs ?? []));
        _log.Information("postcopy: fault latency histogram (request sent to page placed): {Histogram}", lat?.Describe() ?? "(no requests)");
    }

    /// <summary>Stops the fault thread and wakes every parked accessor with <paramref name="reason"/>.</summary>
    public void Fail(string reason)
    {
        Fault?.Fail(reason);
        ReleaseUnusedThreads();
    }

    /// <summary>The one log line with postcopy's numbers, parsed by ./run.sh bench.</summary>
    public const string ResultLogTemplate =
        "postcopy: done in {PostcopyMs} ms, blocktime {BlocktimeMs} ms, vcpu blocktime [{VcpuBlocktimeMs}] ms, {PageRequests} page requests, fault latency p50 {FaultP50Us} us p99 {FaultP99Us} us, {PagesMissingAtListen} pages missing at listen, {MainChannelPages} pages placed from the main channel and {PreemptChannelPages} from the preempt channel, vcpu stall [{VcpuStallMs}] ms (fault to running again)";
}
