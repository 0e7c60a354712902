using System.Numerics;
using System.Runtime.CompilerServices;

namespace Emu.Machine.Memory;

/// <summary>
/// The write barrier and dirty bitmaps of one <see cref="RamBlock"/>: one bitmap per <see cref="DirtyClient"/>
/// plus a summary bitmap whose bit says "this page is already dirty in every enabled client", so a store to
/// such a page costs one load and one test. The first store to a clean page takes the slow path.
/// </summary>
/// <remarks>
/// Ordering (why no write is lost). Writers store the data first and mark afterwards. <see cref="Sync"/>
/// exchanges a client word and only then clears the summary word; the slow path sets the client bits, then
/// the summary bit, then checks the client bits again and withdraws the summary bit if a sync took one in
/// between. So the summary never stays set over a clear client bit, and a writer that skips marking saw the
/// summary before the sync cleared it: its data is in memory before the page, taken by that sync, is sent.
/// </remarks>
public sealed class DirtyLog
{
    private const int ClientCount = 4;

    private readonly ulong[][] _bitmaps = new ulong[ClientCount][];
    private readonly ulong[] _summary;
    private readonly bool[] _enabled = new bool[ClientCount];
    private readonly int _pageCount;

    internal DirtyLog(int pageCount)
    {
        _pageCount = pageCount;
        int words = (pageCount + 63) / 64;
        for (int c = 0; c < ClientCount; c++)
        {
            _bitmaps[c] = new ulong[words];
        }

        _summary = new ulong[words];

        // Code is always tracked; every page starts dirty for it (no translated code yet).
        _enabled[(int)DirtyClient.Code] = true;
        SetAll(_bitmaps[(int)DirtyClient.Code]);
    }

    /// <summary>Called (on the writing thread) when a store hits a page that has translated code.</summary>
    public Action<int>? CodePageWritten { get; set; }

    public int PageCount => _pageCount;

    public bool IsEnabled(DirtyClient client) => _enabled[(int)client];

    /// <summary>
    /// Starts logging for a client. Every page starts dirty, as QEMU's ram_list_init_bitmaps, so the first pass
    /// of a migration sends everything.
    /// </summary>
    public void Enable(DirtyClient client, bool allDirty = true)
    {
        ulong[] bm = _bitmaps[(int)client];
        if (allDirty)
        {
            SetAll(bm);
        }
        else
        {
            Array.Clear(bm);
        }

        Volatile.Write(ref _enabled[(int)client], true);
        ClearSummary();
    }

    public void Disable(DirtyClient client)
    {
        if (client == DirtyClient.Code)
        {
            throw new InvalidOperationException("dirty log: the CODE client cannot be disabled");
        }

        Volatile.Write(ref _enabled[(int)client], false);
    }

    /// <summary>
    /// The write barrier: marks one page written, after the data is stored. Allocation-free; one load on the
    /// fast path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkPageDirty(int pageIndex)
    {
        ulong bit = 1UL << (pageIndex & 63);
        if ((Volatile.Read(ref _summary[pageIndex >> 6]) & bit) == 0)
        {
            MarkPageDirtySlow(pageIndex);
        }
    }

    /// <summary>Marks every page in [offset, offset+length) written (a device's DMA, a loader).</summary>
    public void MarkRangeDirty(ulong offset, ulong length)
    {
        if (length == 0)
        {
            return;
        }

        int first = (int)(offset >> RamBlock.PageShift);
        int last = (int)((offset + length - 1) >> RamBlock.PageShift);
        for (int p = first; p <= last; p++)
        {
            MarkPageDirty(p);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MarkPageDirtySlow(int pageIndex)
    {
        if ((uint)pageIndex >= (uint)_pageCount)
        {
            throw new ArgumentOutOfRangeException(nameof(pageIndex), $"dirty log: page {pageIndex} past the block ({_pageCount} pages)");
        }

        int w = pageIndex >> 6;
        ulong bit = 1UL << (pageIndex & 63);
        for (int c = 0; c < ClientCount; c++)
        {
            if (!Volatile.Read(ref _enabled[c]))
            {
                continue;
            }

            ulong old = Interlocked.Or(ref _bitmaps[c][w], bit);
            if ((old & bit) != 0)
            {
                continue;
            }

            if (c == (int)DirtyClient.Code)
            {
                CodePageWritten?.Invoke(pageIndex);
            }
            else if (c == (int)DirtyClient.DirtyRate)
            {
                // A page newly dirtied since the last harvest: the writing vCPU's dirty-ring entry, in effect.
                Emu.Machine.DirtyRate.VcpuDirtyQuota.ChargeCurrentThread();
            }
        }

        Interlocked.Or(ref _summary[w], bit);
        for (int c = 0; c < ClientCount; c++)
        {
            if (Volatile.Read(ref _enabled[c]) && (Volatile.Read(ref _bitmaps[c][w]) & bit) == 0)
            {
                // A sync took the bit after we set it; our data was already stored, so it travels with
                // that sync's pass. Withdraw the summary so the next store marks again.
                Interlocked.And(ref _summary[w], ~bit);
                break;
            }
        }
    }

    /// <summary>True when the page's bit is set for the client (no exchange; for tests and the display).</summary>
    public bool IsDirty(DirtyClient client, int pageIndex) =>
        (Volatile.Read(ref _bitmaps[(int)client][pageIndex >> 6]) & (1UL << (pageIndex & 63))) != 0;

    /// <summary>
    /// QEMU migration_bitmap_sync for one block: takes the client's dirty words with an atomic exchange, ORs them
    /// into <paramref name="into"/> and returns how many pages became newly dirty there.
    /// </summary>
    public long Sync(DirtyClient client, ulong[] into)
    {
        ulong[] bm = _bitmaps[(int)client];
        if (into.Length < bm.Length)
        {
            throw new ArgumentException($"dirty log: destination bitmap has {into.Length} words, need {bm.Length}", nameof(into));
        }

        long newly = 0;
        for (int w = 0; w < bm.Length; w++)
        {
            ulong taken = TakeWord(bm, w);
            if (taken == 0)
            {
                continue;
            }

            ulong fresh = taken & ~into[w];
            into[w] |= taken;
            newly += BitOperations.PopCount(fresh);
        }

        return newly;
    }

    /// <summary>
    /// Takes and clears every bit of the client, as KVM_RESET_DIRTY_RINGS re-arms the pages a dirty ring reported:
    /// the next store to each page is newly dirty again. Returns how many pages were set.
    /// </summary>
    public long Harvest(DirtyClient client)
    {
        ulong[] bm = _bitmaps[(int)client];
        long taken = 0;
        for (int w = 0; w < bm.Length; w++)
        {
            taken += BitOperations.PopCount(TakeWord(bm, w));
        }

        return taken;
    }

    /// <summary>Takes and clears one word of a client's bitmap (<see cref="Sync"/>, <see cref="Harvest"/>); 0 when clean.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong TakeWord(ulong[] bm, int w)
    {
        if (Volatile.Read(ref bm[w]) == 0)
        {
            return 0;
        }

        // Exchange first, then clear the summary: see the class remarks.
        ulong taken = Interlocked.Exchange(ref bm[w], 0);
        Interlocked.Exchange(ref _summary[w], 0);
        return taken;
    }

    /// <summary>
    /// Clears a page's CODE bit because code was translated from it (QEMU tlb_protect_code): the next store to
    /// the page takes the slow path and reports <see cref="CodePageWritten"/>.
    /// </summary>
    public void ProtectCode(int pageIndex)
    {
        int w = pageIndex >> 6;
        ulong bit = 1UL << (pageIndex & 63);
        Interlocked.And(ref _bitmaps[(int)DirtyClient.Code][w], ~bit);
        Interlocked.And(ref _summary[w], ~bit);
    }

    /// <summary>Test-and-clear of one page for a client (the display's per-page redraw).</summary>
    public bool TestAndClear(DirtyClient client, int pageIndex)
    {
        int w = pageIndex >> 6;
        ulong bit = 1UL << (pageIndex & 63);
        bool was = (Interlocked.And(ref _bitmaps[(int)client][w], ~bit) & bit) != 0;
        Interlocked.And(ref _summary[w], ~bit);
        return was;
    }

    private void ClearSummary()
    {
        for (int w = 0; w < _summary.Length; w++)
        {
            Interlocked.Exchange(ref _summary[w], 0);
        }
    }

    private void SetAll(ulong[] bm)
    {
        Array.Fill(bm, ulong.MaxValue);
        int tail = _pageCount & 63;
        if (tail != 0)
        {
            bm[^1] = (1UL << tail) - 1;
        }
    }
}
