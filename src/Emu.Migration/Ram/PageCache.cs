using System.Numerics;
using System.Runtime.InteropServices;

namespace Emu.Migration.Ram;

/// <summary>
/// XBZRLE's cache of the last version of each page sent (QEMU page_cache.c): direct-mapped, a power-of-two number
/// of 4 KiB slots, slot = page key &amp; (slots − 1). Each slot keeps its page key, its age (the bitmap-sync count
/// when it was last used) and the page bytes. Inserting over a different page that was used within
/// <see cref="CachedPageLifetime"/> syncs is refused, so a hot page is not evicted by a page that maps to its slot.
/// </summary>
/// <remarks>
/// Keys are global page numbers (QEMU uses the ram_addr_t; block offset + offset, divided by the page size here).
/// The slot memory is one native allocation, committed by the OS page by page as slots fill. Only the migration
/// thread uses a cache; it has no lock of its own.
/// </remarks>
public sealed unsafe class PageCache : IDisposable
{
    /// <summary>QEMU CACHED_PAGE_LIFETIME: syncs during which a cached page may not be replaced by another.</summary>
    public const ulong CachedPageLifetime = 2;

    private const ulong NoPage = ulong.MaxValue;

    private readonly int _pageSize;
    private readonly ulong[] _keys;
    private readonly ulong[] _ages;
    private readonly long _mask;
    private byte* _data;

    /// <summary>
    /// QEMU cache_init: <paramref name="cacheSizeBytes"/> / page size slots, rounded down to a power of two. A size
    /// below one page is refused (the parameter check refuses it before a cache is ever made).
    /// </summary>
    public PageCache(long cacheSizeBytes, int pageSize = RamSaver.PageSize)
    {
        if (pageSize <= 0 || !BitOperations.IsPow2(pageSize))
        {
            throw new ArgumentOutOfRangeException(nameof(pageSize), $"xbzrle: page size {pageSize} is not a power of two");
        }

        long slots = cacheSizeBytes / pageSize;
        if (slots < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(cacheSizeBytes), $"xbzrle: cache of {cacheSizeBytes} bytes is smaller than one page ({pageSize})");
        }

        slots = (long)BitOperations.RoundUpToPowerOf2((ulong)slots + 1) >> 1;
        if (slots > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(cacheSizeBytes), $"xbzrle: cache of {cacheSizeBytes} bytes has more than {Array.MaxLength} slots");
        }

        _pageSize = pageSize;
        _mask = slots - 1;
        _keys = new ulong[slots];
        _ages = new ulong[slots];
        Array.Fill(_keys, NoPage);
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)(slots * pageSize), 4096);
    }

    /// <summary>Number of slots (a power of two).</summary>
    public long Slots => _mask + 1;

    /// <summary>Bytes of page memory: slots × page size (QEMU's effective cache size).</summary>
    public long SizeBytes => Slots * _pageSize;

    /// <summary>QEMU cache_is_cached: the page's slot holds this page; a hit refreshes the slot's age.</summary>
    public bool IsCached(ulong pageKey, ulong currentAge)
    {
        long slot = (long)pageKey & _mask;
        if (_keys[slot] != pageKey)
        {
            return false;
        }

        _ages[slot] = currentAge;
        return true;
    }

    /// <summary>
    /// QEMU cache_insert: copies <paramref name="page"/> into the page's slot, unless the slot holds a different
    /// page used within the last <see cref="CachedPageLifetime"/> syncs (then false, nothing changes).
    /// </summary>
    public bool TryInsert(ulong pageKey, ReadOnlySpan<byte> page, ulong currentAge)
    {
        if (page.Length != _pageSize)
        {
            throw new ArgumentException($"xbzrle: page of {page.Length} bytes for a cache of {_pageSize}-byte pages", nameof(page));
        }

        long slot = (long)pageKey & _mask;
        ulong key = _keys[slot];
        if (key != NoPage && key != pageKey && _ages[slot] + CachedPageLifetime > currentAge)
        {
            return false;
        }

        page.CopyTo(SlotSpan(slot));
        _ages[slot] = currentAge;
        _keys[slot] = pageKey;
        return true;
    }

    /// <summary>QEMU get_cached_data: the cached bytes of a page <see cref="IsCached"/> just found.</summary>
    public Span<byte> Get(ulong pageKey)
    {
        long slot = (long)pageKey & _mask;
        if (_keys[slot] != pageKey)
        {
            throw new InvalidOperationException($"xbzrle: page 0x{pageKey:x} is not cached");
        }

        return SlotSpan(slot);
    }

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
    }

    private Span<byte> SlotSpan(long slot)
    {
        ObjectDisposedException.ThrowIf(_data == null, this);
        return new Span<byte>(_data + (slot * _pageSize), _pageSize);
    }
}
