using System.Numerics;
using System.Runtime.CompilerServices;
using Emu.Machine.Memory;
using Emu.Migration.Stream;

namespace Emu.Migration.Ram;

/// <summary>The page search and the per-page save of <see cref="RamSaver"/> (ram_find_and_save_block and below).</summary>
public sealed partial class RamSaver
{
    // QEMU RAMState cursor: where the background scan resumes, and the block of the last page header.
    private int _lastSeenBlock;
    private int _lastPage;
    private int _lastSentBlock = -1;

    /// <summary>The scan cursor (last_seen_block, last_page), for tests.</summary>
    internal (int Block, int Page) Cursor => (_lastSeenBlock, _lastPage);

    /// <summary>QEMU ram_state_reset: scan from the start and name the block in the next header.</summary>
    internal void ResetCursor()
    {
        // A later lap, the postcopy switch or a recovery: a page sent from now on may never be sent again.
        EndFirstLap();
        _lastSeenBlock = 0;
        _lastPage = 0;
        _lastSentBlock = -1;
    }

    /// <summary>
    /// QEMU ram_find_and_save_block: a queued postcopy request first (get_queued_page), else from the cursor the
    /// next dirty page (one lap at most); send it and leave the cursor just after it. Returns pages sent: 0 means
    /// every bitmap is clean. The bit is taken under the bitmap lock and the page sent outside it, so the
    /// return-path thread can send urgent pages meanwhile (QEMU drops bitmap_mutex around the send for preempt).
    /// Allocation-free.
    /// </summary>
    internal int FindAndSaveBlock(MigrationStream s)
    {
        if (_totalPages == 0)
        {
            return 0;
        }

        int block;
        int page;
        bool urgent;
        bool found;
        lock (_bitmapLock)
        {
            urgent = TakeQueuedPage(out block, out page);
            found = urgent || TakeNextDirty(out block, out page);
        }

        EndRoundIfWrapped(s);
        if (!found)
        {
            return 0;
        }

        SaveTargetPage(s, block, page, ref _lastSentBlock);
        if (urgent)
        {
            // A vCPU on the destination waits for this page: do not let it sit in the buffer behind background pages.
            s.Flush();
        }

        return 1;
    }

    /// <summary>
    /// QEMU find_dirty_block from the cursor: takes (clears) the next dirty page and moves the cursor past it.
    /// False after one full lap without a dirty page. Caller holds the bitmap lock.
    /// </summary>
    private bool TakeNextDirty(out int block, out int page)
    {
        block = _lastSeenBlock;
        page = _lastPage;
        bool completeRound = false;
        while (true)
        {
            page = NextDirty(_bmaps[block], page, _blocks[block].PageCount);

            // One full lap without a dirty page: everything is clean.
            if (completeRound && block == _lastSeenBlock && page >= _lastPage)
            {
                _lastSeenBlock = block;
                _lastPage = page;
                return false;
            }

            if (page >= _blocks[block].PageCount)
            {
                // Next block, wrapping to the first with complete_round set.
                page = 0;
                if (++block == _blocks.Length)
                {
                    block = 0;
                    completeRound = true;
                    _roundEnded = true;
                    EndFirstLap();
                    StartXbzrleAfterLap();
                }

                continue;
            }

            if (TestAndClearDirty(block, page))
            {
                _lastSeenBlock = block;
                _lastPage = page + 1;
                return true;
            }

            page++;
        }
    }

    /// <summary>QEMU migration_bitmap_clear_dirty: true if the page was dirty (now clean). Caller holds the lock.</summary>
    private bool TestAndClearDirty(int block, int page)
    {
        ref ulong word = ref _bmaps[block][page >> 6];
        ulong bit = 1UL << (page & 63);
        if ((word & bit) == 0)
        {
            return false;
        }

        word &= ~bit;
        Volatile.Write(ref _dirtyPages, _dirtyPages - 1);
        return true;
    }

    /// <summary>
    /// QEMU ram_save_target_page_legacy: a zero page as header + one byte (save_zero_page), else header + the
    /// 4096 bytes, queued from guest memory without a copy (save_normal_page). <paramref name="lastSentBlock"/> is the
    /// channel's own "last block named" (QEMU PageSearchStatus.last_sent_block).
    /// </summary>
    private unsafe void SaveTargetPage(MigrationStream s, int block, int page, ref int lastSentBlock)
    {
        RamBlock b = _blocks[block];
        ulong offset = (ulong)page << RamBlock.PageShift;
        var src = new ReadOnlySpan<byte>(b.HostPointer + offset, PageSize);
        long start = s.Position;
        if (IsUnpopulatedInFirstLap(block, page) || ZeroPage.IsZero(src))
        {
            SavePageHeader(s, block, offset, RamSaveFlags.Zero, ref lastSentBlock);
            s.WriteU8(0);
            _stats.AddZeroPage();
            if (XbzrleActive)
            {
                CacheXbzrleZeroPage(block, page);
            }
        }
        else
        {
            if (Multifd is { } multifd)
            {
                // QEMU ram_save_multifd_page: a channel sends it, with its header there; nothing on this stream.
                multifd.QueuePage(s, block, offset);
                _stats.AddNormalPage();
                _stats.RemainingBytes = RemainingBytes;
                return;
            }

            // XBZRLE: a delta, nothing (unchanged), or -1 for a whole page (src may now be the cached copy).
            int delta = XbzrleActive ? EncodeXbzrlePage(block, page, ref src) : -1;
            if (delta > 0)
            {
                SavePageHeader(s, block, offset, RamSaveFlags.Xbzrle, ref lastSentBlock);
                WriteXbzrleDelta(s, delta, start);
            }
            else if (delta < 0)
            {
                SavePageHeader(s, block, offset, RamSaveFlags.Page, ref lastSentBlock);
                if (XbzrleActive)
                {
                    // src may be the XBZRLE cache's copy, which the next page may overwrite: copy it now.
                    src.CopyTo(s.GetSpan(PageSize));
                    s.Advance(PageSize);
                }
                else
                {
                    // Straight from guest memory at the next flush (QEMU save_normal_page's async put).
                    s.WriteExternal(b.HostPointer + offset, PageSize);
                }

                _stats.AddNormalPage();
            }
        }

        _stats.AddRamBytes(Phase, s.Position - start);
        _stats.RemainingBytes = RemainingBytes;
    }

    /// <summary>
    /// A page the host had never populated when the first lap began reads as zero, so the first lap sends it as a
    /// zero page without touching it (which would cost a page fault). If the guest wrote it since, the write is in
    /// the dirty log and the page goes again, with its data, in a later pass.
    /// </summary>
    private bool IsUnpopulatedInFirstLap(int block, int page) => _firstLapUnpopulated?.IsUnpopulated(block, page) == true;

    /// <summary>From here on a page may be sent for the last time: no page passes for unpopulated any more.</summary>
    private void EndFirstLap()
    {
        _firstLapUnpopulated?.Dispose();
        _firstLapUnpopulated = null;
    }

    /// <summary>
    /// QEMU save_page_header: be64 offset|flags; the block's idstr follows unless it is the block of the previous
    /// header on this channel, in which case CONTINUE is set instead.
    /// </summary>
    private void SavePageHeader(MigrationStream s, int block, ulong offset, RamSaveFlags flags, ref int lastSentBlock)
    {
        if (block == lastSentBlock)
        {
            s.WriteU64(offset | (ulong)(flags | RamSaveFlags.Continue));
            return;
        }

        s.WriteU64(offset | (ulong)flags);
        byte[] id = _idStrs[block];
        s.WriteU8((byte)id.Length);
        s.WriteBytes(id);
        lastSentBlock = block;
    }

    /// <summary>The first set bit at or after <paramref name="start"/>, or <paramref name="pageCount"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int NextDirty(ulong[] bm, int start, int pageCount)
    {
        if (start >= pageCount)
        {
            return pageCount;
        }

        int w = start >> 6;
        ulong word = bm[w] & (ulong.MaxValue << (start & 63));
        while (word == 0)
        {
            if (++w >= bm.Length)
            {
                return pageCount;
            }

            word = bm[w];
        }

        return Math.Min((w << 6) + BitOperations.TrailingZeroCount(word), pageCount);
    }
}
