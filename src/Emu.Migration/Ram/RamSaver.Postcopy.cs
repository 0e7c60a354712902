using Emu.Machine.Memory;
using Emu.Migration.Postcopy;
using Emu.Migration.Stream;

namespace Emu.Migration.Ram;

/// <summary>
/// The postcopy side of <see cref="RamSaver"/>: the discard list at the switch (ram_postcopy_send_discard_bitmap),
/// the page-request queue served before the background scan (src_page_requests / get_queued_page), urgent pages
/// on the preempt channel (ram_save_host_page_urgent) and the bitmap reload of a recovery (ram_dirty_bitmap_reload).
/// </summary>
public sealed partial class RamSaver
{
    // QEMU src_page_requests: requested pages, guarded by the bitmap lock. A request is one page (host page =
    // target page = 4 KiB), split from the byte range the destination asked for.
    private readonly Queue<(int Block, int Page)> _pageRequests = new();

    // QEMU RAMState.last_req_rb: the block of the previous REQ_PAGES_ID, for REQ_PAGES; -1 for none.
    private int _lastReqBlock = -1;

    // The preempt channel's "last block named" (QEMU pss[RAM_CHANNEL_POSTCOPY].last_sent_block).
    private int _preemptLastSentBlock = -1;

    /// <summary>Requests waiting for the migration thread (for tests and the loop's wake-up).</summary>
    public int QueuedRequests
    {
        get
        {
            lock (_bitmapLock)
            {
                return _pageRequests.Count;
            }
        }
    }

    /// <summary>
    /// QEMU ram_postcopy_send_discard_bitmap, with the source stopped: a last sync, the cursor reset (so the
    /// first postcopy page names its block), then per block every run of dirty pages as a discard range in bytes,
    /// at most <see cref="MigCommandWriter.MaxDiscardsPerCommand"/> per command. The bitmap started all ones, so
    /// pages never sent are discarded too. Returns the pages discarded.
    /// </summary>
    public long SendDiscardBitmap(MigrationStream s)
    {
        BitmapSync();
        long discarded = 0;
        Span<(ulong Start, ulong Length)> ranges = new (ulong, ulong)[MigCommandWriter.MaxDiscardsPerCommand];
        lock (_bitmapLock)
        {
            ResetCursor();
            for (int b = 0; b < _blocks.Length; b++)
            {
                int n = 0;
                int pageCount = _blocks[b].PageCount;
                int page = NextDirty(_bmaps[b], 0, pageCount);
                while (page < pageCount)
                {
                    int end = NextClean(_bmaps[b], page, pageCount);
                    ranges[n++] = ((ulong)page << RamBlock.PageShift, (ulong)(end - page) << RamBlock.PageShift);
                    discarded += end - page;
                    if (n == ranges.Length)
                    {
                        MigCommandWriter.SendPostcopyRamDiscard(s, _blocks[b].IdStr, ranges);
                        n = 0;
                    }

                    page = NextDirty(_bmaps[b], end, pageCount);
                }

                if (n > 0)
                {
                    MigCommandWriter.SendPostcopyRamDiscard(s, _blocks[b].IdStr, ranges[..n]);
                }
            }
        }

        return discarded;
    }

    /// <summary>
    /// QEMU ram_save_queue_pages, called by the return-path thread for REQ_PAGES(_ID): the block (by name, or the
    /// previous request's), a page-aligned range inside it; each page is queued. A bad request is a
    /// <see cref="MigrationStreamException"/> (the return path is bad and the migration fails or pauses).
    /// Returns the (block, first page, page count) queued.
    /// </summary>
    public (int Block, int Page, int Count) QueuePages(string? idStr, ulong start, uint length)
    {
        (int block, int first, int count) = ResolveRequest(idStr, start, length);
        _stats.AddPostcopyRequest();
        lock (_bitmapLock)
        {
            for (int i = 0; i < count; i++)
            {
                _pageRequests.Enqueue((block, first + i));
            }
        }

        return (block, first, count);
    }

    /// <summary>
    /// QEMU ram_save_host_page_urgent (postcopy-preempt): the return-path thread sends the requested pages itself
    /// on the preempt channel, skipping any already sent; then flushes. Returns the pages sent.
    /// </summary>
    public int SaveUrgentPages(MigrationStream preempt, string? idStr, ulong start, uint length)
    {
        (int block, int first, int count) = ResolveRequest(idStr, start, length);
        _stats.AddPostcopyRequest();
        int sent = 0;
        for (int i = 0; i < count; i++)
        {
            bool dirty;
            lock (_bitmapLock)
            {
                dirty = TestAndClearDirty(block, first + i);
            }

            if (dirty)
            {
                SaveTargetPage(preempt, block, first + i, ref _preemptLastSentBlock);
                sent++;
            }
        }

        preempt.Flush();
        return sent;
    }

    /// <summary>A new preempt channel names its block again (recovery).</summary>
    public void ResetPreemptChannel() => _preemptLastSentBlock = -1;

    /// <summary>
    /// QEMU get_queued_page: the first queued page still dirty; a request for a page already sent is dropped
    /// ("we must make sure it doesn't get sent again"). The background scan then continues after it. Caller
    /// holds the bitmap lock.
    /// </summary>
    private bool TakeQueuedPage(out int block, out int page)
    {
        while (_pageRequests.Count > 0)
        {
            (block, page) = _pageRequests.Dequeue();
            if (TestAndClearDirty(block, page))
            {
                _lastSeenBlock = block;
                _lastPage = page + 1;
                return true;
            }
        }

        block = page = 0;
        return false;
    }

    /// <summary>The checks of QEMU ram_save_queue_pages and migrate_handle_rp_req_pages.</summary>
    private (int Block, int Page, int Count) ResolveRequest(string? idStr, ulong start, uint length)
    {
        int block;
        lock (_bitmapLock)
        {
            if (idStr == null)
            {
                block = _lastReqBlock;
                if (block < 0)
                {
                    throw new MigrationStreamException($"ram: page request for 0x{start:x}+0x{length:x} has no previous block");
                }
            }
            else
            {
                block = Array.FindIndex(_blocks, b => b.IdStr == idStr);
                if (block < 0)
                {
                    throw new MigrationStreamException($"ram: page request for unknown RAMBlock '{idStr}'");
                }

                _lastReqBlock = block;
            }
        }

        RamBlock rb = _blocks[block];
        if ((start & (PageSize - 1)) != 0 || (length & (PageSize - 1)) != 0 || length == 0)
        {
            throw new MigrationStreamException($"ram: misaligned page request in '{rb.IdStr}': start 0x{start:x} length 0x{length:x}, expected multiples of 0x{PageSize:x}");
        }

        if (start >= rb.SizeBytes || length > rb.SizeBytes - start)
        {
            throw new MigrationStreamException($"ram: page request overrun in '{rb.IdStr}': 0x{start:x}+0x{length:x} past 0x{rb.SizeBytes:x}");
        }

        return (block, (int)(start >> RamBlock.PageShift), (int)(length >> RamBlock.PageShift));
    }

    /// <summary>
    /// QEMU ram_dirty_bitmap_reload (recovery): the destination's received bitmap of one block; what it has not
    /// received becomes dirty, everything else clean. The dirty count is recounted, stale requests dropped (the
    /// destination re-sends what it still waits for), and the cursor reset.
    /// </summary>
    public void ReloadBitmap(string idStr, ulong[] receivedWords)
    {
        lock (_bitmapLock)
        {
            int block = Array.FindIndex(_blocks, b => b.IdStr == idStr);
            if (block < 0)
            {
                throw new MigrationStreamException($"ram: received bitmap for unknown RAMBlock '{idStr}'");
            }

            ulong[] bm = _bmaps[block];
            for (int i = 0; i < bm.Length; i++)
            {
                bm[i] = ~(i < receivedWords.Length ? receivedWords[i] : 0);
            }

            int tail = _blocks[block].PageCount & 63;
            if (tail != 0)
            {
                bm[^1] &= (1UL << tail) - 1;
            }

            long dirty = 0;
            for (int b = 0; b < _bmaps.Length; b++)
            {
                foreach (ulong w in _bmaps[b])
                {
                    dirty += System.Numerics.BitOperations.PopCount(w);
                }
            }

            Volatile.Write(ref _dirtyPages, dirty);
            _stats.RemainingBytes = dirty * PageSize;
            _pageRequests.Clear();
            _lastReqBlock = -1;
            ResetCursor();
        }
    }

    /// <summary>The first clear bit at or after <paramref name="start"/>, or <paramref name="pageCount"/>.</summary>
    internal static int NextClean(ulong[] bm, int start, int pageCount)
    {
        int w = start >> 6;
        ulong word = ~bm[w] & (ulong.MaxValue << (start & 63));
        while (word == 0)
        {
            if (++w >= bm.Length)
            {
                return pageCount;
            }

            word = ~bm[w];
        }

        return Math.Min((w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word), pageCount);
    }
}
