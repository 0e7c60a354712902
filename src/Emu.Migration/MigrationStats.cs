namespace Emu.Migration;

/// <summary>
/// The counters behind query-migrate (QEMU mig_stats and the MigrationState timing fields). Written by the
/// migration thread, read by QMP at any time; each is a 64-bit value read and written atomically.
/// Everything resets when a new outgoing migration starts (<see cref="Reset"/>, QEMU migrate_init).
/// </summary>
public sealed class MigrationStats
{
    private long _zeroPages;
    private long _normalPages;
    private long _precopyBytes;
    private long _downtimeBytes;
    private long _postcopyBytes;
    private long _transferredBytes;
    private long _dirtySyncCount;
    private long _dirtyPagesRate;
    private long _dirtyBytesLastSync;
    private long _remainingBytes;
    private long _totalRamBytes;
    private long _mbpsBits;
    private long _pagesPerSecond;
    private long _startTimeMs;
    private long _setupTimeMs;
    private long _totalTimeMs = -1;
    private long _downtimeMs = -1;
    private long _expectedDowntimeMs;
    private long _postcopyRequests;
    private long _multifdBytes;

    /// <summary>Zero pages sent as one byte (query "duplicate"). Counted when sent.</summary>
    public long ZeroPages => Volatile.Read(ref _zeroPages);

    /// <summary>Pages sent whole (query "normal"; "normal-bytes" = this × 4096). Counted when sent.</summary>
    public long NormalPages => Volatile.Read(ref _normalPages);

    /// <summary>RAM record bytes sent while the source guest ran (QEMU precopy_bytes).</summary>
    public long PrecopyBytes => Volatile.Read(ref _precopyBytes);

    /// <summary>RAM record bytes sent while the guest was stopped for the switchover (QEMU downtime_bytes).</summary>
    public long DowntimeBytes => Volatile.Read(ref _downtimeBytes);

    /// <summary>RAM record bytes sent after the postcopy switch (QEMU postcopy_bytes).</summary>
    public long PostcopyBytes => Volatile.Read(ref _postcopyBytes);

    /// <summary>
    /// Every byte put on the main stream, framing and devices included (QEMU qemu_file_transferred; the setter takes
    /// that), plus the multifd channels' <see cref="MultifdBytes"/>, which QEMU's transferred counts too.
    /// </summary>
    public long TransferredBytes
    {
        get => Volatile.Read(ref _transferredBytes) + MultifdBytes;
        set => Volatile.Write(ref _transferredBytes, value);
    }

    /// <summary>Bitmap syncs so far (MIGRATION_PASS number); the setup sync is 1.</summary>
    public long DirtySyncCount => Volatile.Read(ref _dirtySyncCount);

    /// <summary>Pages dirtied per second over the last closed ≥1 s sync period.</summary>
    public long DirtyPagesRate
    {
        get => Volatile.Read(ref _dirtyPagesRate);
        set => Volatile.Write(ref _dirtyPagesRate, value);
    }

    /// <summary>Dirty bytes right after the last sync (QEMU dirty_bytes_last_sync), for expected-downtime.</summary>
    public long DirtyBytesLastSync
    {
        get => Volatile.Read(ref _dirtyBytesLastSync);
        set => Volatile.Write(ref _dirtyBytesLastSync, value);
    }

    /// <summary>Dirty pages still to send × 4096 (ram_bytes_remaining); 0 after completion.</summary>
    public long RemainingBytes
    {
        get => Volatile.Read(ref _remainingBytes);
        set => Volatile.Write(ref _remainingBytes, value);
    }

    /// <summary>Size of all migrated RAM blocks (ram_bytes_total).</summary>
    public long TotalRamBytes
    {
        get => Volatile.Read(ref _totalRamBytes);
        set => Volatile.Write(ref _totalRamBytes, value);
    }

    /// <summary>
    /// Throughput in Mbit/s of the last 100 ms window, or of the whole migration once completed, counting bytes
    /// that left the host (<see cref="Stream.MigrationStream.BytesSent"/>), not bytes still queued for the link.
    /// </summary>
    public double Mbps
    {
        get => BitConverter.Int64BitsToDouble(Volatile.Read(ref _mbpsBits));
        set => Volatile.Write(ref _mbpsBits, BitConverter.DoubleToInt64Bits(value));
    }

    /// <summary>Pages sent per second in the last 100 ms window.</summary>
    public long PagesPerSecond
    {
        get => Volatile.Read(ref _pagesPerSecond);
        set => Volatile.Write(ref _pagesPerSecond, value);
    }

    /// <summary>Monotonic ms when the migration started (for total-time while it runs).</summary>
    public long StartTimeMs
    {
        get => Volatile.Read(ref _startTimeMs);
        set => Volatile.Write(ref _startTimeMs, value);
    }

    /// <summary>Time from start to the end of setup (RAM header written, first sync done).</summary>
    public long SetupTimeMs
    {
        get => Volatile.Read(ref _setupTimeMs);
        set => Volatile.Write(ref _setupTimeMs, value);
    }

    /// <summary>Final total time once completed; -1 before.</summary>
    public long TotalTimeMs
    {
        get => Volatile.Read(ref _totalTimeMs);
        set => Volatile.Write(ref _totalTimeMs, value);
    }

    /// <summary>QEMU downtime: source VM stop → completion; -1 before.</summary>
    public long DowntimeMs
    {
        get => Volatile.Read(ref _downtimeMs);
        set => Volatile.Write(ref _downtimeMs, value);
    }

    /// <summary>Starts at downtime-limit; then dirty bytes at the last sync ÷ bandwidth.</summary>
    public long ExpectedDowntimeMs
    {
        get => Volatile.Read(ref _expectedDowntimeMs);
        set => Volatile.Write(ref _expectedDowntimeMs, value);
    }

    /// <summary>Bytes written on the multifd channels: initial packets, packet headers, page data (QEMU multifd_bytes).</summary>
    public long MultifdBytes => Volatile.Read(ref _multifdBytes);

    public void AddMultifdBytes(long bytes) => Interlocked.Add(ref _multifdBytes, bytes);

    /// <summary>Postcopy page requests served.</summary>
    public long PostcopyRequests => Volatile.Read(ref _postcopyRequests);

    /// <summary>XBZRLE's own counters (query "xbzrle-cache").</summary>
    public XbzrleCounters Xbzrle { get; } = new();

    /// <summary>Pages sent (normal + zero + XBZRLE cache hits), QEMU ram_get_total_transferred_pages.</summary>
    public long TotalPages => NormalPages + ZeroPages + Xbzrle.Pages;

    public void AddZeroPage() => Interlocked.Increment(ref _zeroPages);

    public void AddNormalPage() => Interlocked.Increment(ref _normalPages);

    public void AddDirtySync() => Interlocked.Increment(ref _dirtySyncCount);

    public void AddPostcopyRequest() => Interlocked.Increment(ref _postcopyRequests);

    /// <summary>QEMU ram_transferred_add: RAM bytes go to the counter of the current phase.</summary>
    public void AddRamBytes(RamPhase phase, long bytes)
    {
        switch (phase)
        {
            case RamPhase.Precopy:
                Interlocked.Add(ref _precopyBytes, bytes);
                break;
            case RamPhase.Downtime:
                Interlocked.Add(ref _downtimeBytes, bytes);
                break;
            default:
                Interlocked.Add(ref _postcopyBytes, bytes);
                break;
        }
    }

    /// <summary>QEMU migrate_init: a new migration starts from zero.</summary>
    public void Reset(long nowMs, long expectedDowntimeMs)
    {
        _zeroPages = _normalPages = _precopyBytes = _downtimeBytes = _postcopyBytes = 0;
        _transferredBytes = _dirtySyncCount = _dirtyPagesRate = _dirtyBytesLastSync = 0;
        _remainingBytes = _totalRamBytes = _pagesPerSecond = _setupTimeMs = _postcopyRequests = _multifdBytes = 0;
        _mbpsBits = 0;
        _totalTimeMs = _downtimeMs = -1;
        _expectedDowntimeMs = expectedDowntimeMs;
        Xbzrle.Reset();
        Volatile.Write(ref _startTimeMs, nowMs);
    }
}
