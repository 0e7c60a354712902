using System.Runtime.CompilerServices;
using Emu.Machine.Memory;
using Emu.Migration.Postcopy;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.Migration.Ram;

/// <summary>
/// The destination side of the "ram" section (QEMU ram_load / ram_load_precopy): reads records until EOS and
/// places pages into the local blocks. Every name, size, offset and flag is checked before a byte is written, so a
/// hostile stream can only fail the load, never write outside guest RAM.
/// </summary>
public sealed partial class RamLoader : ILiveSectionLoader
{
    private readonly Dictionary<string, RamBlock> _blocks = new(StringComparer.Ordinal);
    private RamBlock? _lastBlock;

    // Pages the host had never populated when the block list arrived, less those written since (HostPageMap): a
    // zero page for one of them needs no work, and looking at it would cost a page fault. Only this loader writes
    // guest RAM while an incoming migration runs, so the map stays true.
    private readonly Dictionary<RamBlock, ulong[]> _unpopulated = [];
    private int _placedSinceWake;

    /// <summary>Postcopy: at most this many pages are placed before parked accessors are woken.</summary>
    internal const int WakeBatchPages = 32;

    /// <summary>The largest page record: header, idstr length and name, and the page.</summary>
    private const int MaxPageRecordBytes = 8 + 1 + 255 + RamBlock.PageSize;

    public RamLoader(IEnumerable<RamBlock> blocks)
    {
        foreach (RamBlock b in blocks)
        {
            _blocks.Add(b.IdStr, b);
        }
    }

    public string IdStr => RamSaver.SectionName;

    public uint InstanceId => 0;

    public int Version => RamSaver.SectionVersion;

    /// <summary>Pages placed (zero or normal) so far.</summary>
    public long PagesLoaded { get; private set; }

    /// <summary>True once the MEM_SIZE block list has been checked.</summary>
    public bool BlockListSeen { get; private set; }

    /// <summary>
    /// Set at POSTCOPY_LISTEN (QEMU ram_load_postcopy): pages go only into pages not yet received, are published
    /// whole, and their waiters are woken through this fault thread.
    /// </summary>
    public PostcopyFaultThread? Postcopy { get; set; }

    /// <summary>Pages skipped in postcopy because they were already placed (never placed twice).</summary>
    public long PagesAlreadyPresent { get; private set; }

    /// <summary>The multifd channels, whose sync points the main stream's MULTIFD_FLUSH records wait for.</summary>
    public Multifd.MultifdReceiver? Multifd { get; set; }

    /// <summary>
    /// A multifd channel has written a page into guest memory (from its own thread): it no longer reads as an
    /// unpopulated zero page, and it is dirty for a later migration out.
    /// </summary>
    internal void MultifdPagePlaced(RamBlock b, int page)
    {
        MarkWritten(b, page);
        b.DirtyLog.MarkPageDirty(page);
    }

    /// <summary>A new channel (recovery, preempt) names its block before any CONTINUE.</summary>
    public void ResetChannel() => _lastBlock = null;

    /// <summary>CLOCK_MONOTONIC ns when the last SECTION_END began and ended loading (switchover profile), else 0.</summary>
    public (long StartNs, long EndNs) FinalSection { get; private set; }

    public void Load(MigrationStream s, int versionId, SectionType type)
    {
        long startNs = type == SectionType.SectionEnd ? MonotonicClock.NowNs : 0;
        if (versionId != RamSaver.SectionVersion)
        {
            throw new MigrationStreamException($"ram: section version {versionId} is not supported, expected {RamSaver.SectionVersion} (stream offset 0x{s.Position:x})");
        }

        // A page placed without its waiters woken yet must not leave them parked when the section ends or fails.
        try
        {
            LoadRecords(s, startNs);
        }
        finally
        {
            // Pages were copied with streaming stores: order them before whatever publishes them (a received bit,
            // a wake-up, the guest's start).
            PageCopy.Fence();
            Postcopy?.WakeWaiters();
        }
    }

    /// <summary>Page records until EOS (QEMU ram_load_precopy / ram_load_postcopy's loop).</summary>
    /// <remarks>
    /// The per-page path is compiled optimized at once (AggressiveOptimization): postcopy's listen thread runs it
    /// for a few hundred milliseconds, and perf caught it there still in tier-0 and PGO-instrumented code.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LoadRecords(MigrationStream s, long startNs)
    {
        while (true)
        {
            long at = s.Position;
            ulong word = s.ReadU64();
            var flags = (RamSaveFlags)(word & (ulong)RamSaveFlags.Mask);
            ulong addr = word & ~(ulong)RamSaveFlags.Mask;
            switch (flags & ~RamSaveFlags.Continue)
            {
                case RamSaveFlags.MemSize when Postcopy == null:
                    ParseBlocks(s, addr, at);
                    break;
                case RamSaveFlags.Zero:
                    LoadZeroPage(s, BlockFromStream(s, flags, at), addr, at);
                    break;
                case RamSaveFlags.Page:
                    LoadPage(s, BlockFromStream(s, flags, at), addr, at);
                    break;
                case RamSaveFlags.Xbzrle when Postcopy == null:
                    LoadXbzrle(s, BlockFromStream(s, flags, at), addr, at);
                    break;
                case RamSaveFlags.MultifdFlush when Multifd != null:
                    // QEMU multifd_recv_sync_main: every page the channels carried so far is placed before going on.
                    Multifd.SyncMain();
                    break;
                case RamSaveFlags.Eos:
                    if (startNs != 0)
                    {
                        FinalSection = (startNs, MonotonicClock.NowNs);
                    }

                    return;
                default:
                    throw new MigrationStreamException($"ram: unknown combination of migration flags 0x{(ulong)flags:x} at stream offset 0x{at:x}{(Postcopy != null ? " (postcopy mode)" : "")}");
            }
        }
    }

    /// <summary>QEMU parse_ramblocks: every block named must exist here with exactly the same length.</summary>
    private void ParseBlocks(MigrationStream s, ulong total, long at)
    {
        ulong remaining = total;
        while (remaining > 0)
        {
            long entryAt = s.Position;
            string id = SaveVmWriter.ReadIdStr(s);
            ulong length = s.ReadU64();
            if (!_blocks.TryGetValue(id, out RamBlock? b))
            {
                throw new MigrationStreamException($"ram: unknown RAMBlock '{id}' at stream offset 0x{entryAt:x}, cannot accept migration");
            }

            if (length != b.SizeBytes)
            {
                throw new MigrationStreamException($"ram: RAMBlock '{id}' length 0x{length:x} at stream offset 0x{entryAt:x} differs from the local 0x{b.SizeBytes:x}");
            }

            if (length > remaining)
            {
                throw new MigrationStreamException($"ram: block list at stream offset 0x{at:x} overruns its total 0x{total:x} at '{id}'");
            }

            remaining -= length;
        }

        foreach (RamBlock b in _blocks.Values)
        {
            if (HostPageMap.UnpopulatedPages(b) is { } map)
            {
                _unpopulated[b] = map;
            }
        }

        BlockListSeen = true;
    }

    /// <summary>QEMU ram_block_from_stream: CONTINUE reuses the previous block, otherwise an idstr follows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private RamBlock BlockFromStream(MigrationStream s, RamSaveFlags flags, long at)
    {
        if ((flags & RamSaveFlags.Continue) != 0)
        {
            return _lastBlock ?? throw new MigrationStreamException($"ram: Ack, bad migration stream! CONTINUE with no previous block at stream offset 0x{at:x}");
        }

        string id = SaveVmWriter.ReadIdStr(s);
        if (!_blocks.TryGetValue(id, out RamBlock? b))
        {
            throw new MigrationStreamException($"ram: can't find block '{id}' at stream offset 0x{at:x}");
        }

        _lastBlock = b;
        return b;
    }

    private static void CheckOffset(RamBlock b, ulong addr, long at)
    {
        if (addr >= b.SizeBytes)
        {
            throw new MigrationStreamException($"ram: illegal RAM offset 0x{addr:x} in '{b.IdStr}' at stream offset 0x{at:x}, block is 0x{b.SizeBytes:x} bytes");
        }
    }

    /// <summary>QEMU ram_handle_zero: the fill must be 0; the page is cleared only if it is not zero already.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LoadZeroPage(MigrationStream s, RamBlock b, ulong addr, long at)
    {
        CheckOffset(b, addr, at);
        byte fill = s.ReadU8();
        if (fill != 0)
        {
            throw new MigrationStreamException($"ram: found a zero page with value {fill} at stream offset 0x{at:x}, expected 0");
        }

        int page = (int)(addr >> RamBlock.PageShift);
        if (Postcopy != null)
        {
            Place(b, page, s, withData: false);
            return;
        }

        if (ClearPage(b, page))
        {
            b.DirtyLog.MarkPageDirty(page);
        }

        PagesLoaded++;
    }

    /// <summary>The page now holds data: it is no longer an unpopulated zero page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MarkWritten(RamBlock b, int page)
    {
        if (_unpopulated.TryGetValue(b, out ulong[]? map))
        {
            // Atomic: multifd channels clear bits of the same words from their own threads.
            Interlocked.And(ref map[page >> 6], ~(1UL << (page & 63)));
        }
    }

    /// <summary>Zeroes a page unless it reads as zero already (QEMU ram_handle_zero); true if it was changed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ClearPage(RamBlock b, int page)
    {
        if (_unpopulated.TryGetValue(b, out ulong[]? map) && HostPageMap.IsSet(map, page))
        {
            return false;
        }

        Span<byte> dst = b.Page(page);
        if (ZeroPage.IsZero(dst))
        {
            return false;
        }

        dst.Clear();
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LoadPage(MigrationStream s, RamBlock b, ulong addr, long at)
    {
        CheckOffset(b, addr, at);
        int page = (int)(addr >> RamBlock.PageShift);
        if (Postcopy != null)
        {
            Place(b, page, s, withData: true);
            return;
        }

        PageCopy.Streaming(s.ReadSpan(RamBlock.PageSize), b.Page(page));
        MarkWritten(b, page);
        b.DirtyLog.MarkPageDirty(page);
        PagesLoaded++;
    }

    /// <summary>
    /// QEMU postcopy_place_page: the whole page is copied into guest memory first (nobody can touch a page whose
    /// received bit is clear), then the bit is published (an interlocked OR, a full fence), then waiters wake. A
    /// page already received is read past, never placed twice: the guest may have written it since. Waiters are
    /// woken when the stream has no further whole record buffered (the next read may block) or every
    /// <see cref="WakeBatchPages"/> pages, so a vCPU following the stream wakes to a run of pages, not to one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Place(RamBlock b, int page, MigrationStream s, bool withData)
    {
        ReceivedBitmap? received = b.Received;
        if (received == null || received.IsReceived(page))
        {
            if (withData)
            {
                s.Skip(RamBlock.PageSize);
            }

            PagesAlreadyPresent++;
            return;
        }

        // A missing page still holds its stale precopy bytes (see PostcopyIncoming.HandleListen), so a zero page
        // is cleared here rather than assumed; nobody reads it before the received bit is published.
        if (withData)
        {
            PageCopy.Streaming(s.ReadSpan(RamBlock.PageSize), b.Page(page));
            PageCopy.Fence();
            MarkWritten(b, page);
        }
        else
        {
            ClearPage(b, page);
        }

        b.DirtyLog.MarkPageDirty(page);
        received.MarkReceived(page);
        PagesLoaded++;
        PostcopyFaultThread fault = Postcopy!;
        fault.PagePlaced(b, page);
        if (++_placedSinceWake >= WakeBatchPages || s.Buffered < MaxPageRecordBytes)
        {
            _placedSinceWake = 0;
            fault.WakeWaiters();
        }
    }
}
