using Emu.Migration.Stream;

namespace Emu.Migration.Ram;

/// <summary>
/// XBZRLE on the source (ram.c save_xbzrle_page and the XBZRLE struct): once the scan has completed its first
/// lap, a dirty page found in the <see cref="PageCache"/> goes as an XOR delta against the cached copy; a miss
/// caches the page and sends it whole. Never in postcopy.
/// </summary>
/// <remarks>
/// Why the copies: while the guest runs it may write the page during encoding, so the page is snapshotted first
/// and the snapshot becomes the cached copy, and a page that goes whole after a cache insert or an overflow is
/// sent from the cache: the destination must end up with exactly the bytes the next delta is made against. In
/// the last stage the guest is stopped, so the live page is encoded directly and the cache is left as it is.
/// </remarks>
public sealed partial class RamSaver
{
    private PageCache? _xbzrleCache;
    private MigrationOptions? _xbzrleOptions;
    private ulong _xbzrleCacheParameter;
    private ulong[] _xbzrleBlockBase = [];
    private readonly byte[] _xbzrleCurrent = new byte[PageSize];
    private readonly byte[] _xbzrleEncoded = new byte[PageSize];
    private readonly byte[] _xbzrleZeroPage = new byte[PageSize];
    private bool _xbzrleStarted;

    // migration_update_rates: the counters at the end of the previous sync period.
    private long _xbzrleTargetPagesPrev;
    private long _xbzrleCacheMissPrev;
    private long _xbzrlePagesPrev;
    private long _xbzrleBytesPrev;

    /// <summary>The cache while XBZRLE is enabled for this migration, for tests.</summary>
    internal PageCache? XbzrleCache => _xbzrleCache;

    /// <summary>True once deltas are being sent: enabled, past the first lap, not in postcopy.</summary>
    private bool XbzrleActive => _xbzrleStarted && Phase != RamPhase.Postcopy;

    /// <summary>
    /// QEMU xbzrle_init (ram_save_setup with the xbzrle capability): makes the cache at xbzrle-cache-size. The
    /// parameter is watched, and a new size replaces the cache, contents lost (xbzrle_cache_resize).
    /// </summary>
    public void EnableXbzrle(MigrationOptions options)
    {
        _xbzrleOptions = options;
        _xbzrleBlockBase = new ulong[_blocks.Length];
        ulong basePage = 0;
        for (int i = 0; i < _blocks.Length; i++)
        {
            _xbzrleBlockBase[i] = basePage;
            basePage += (ulong)_blocks[i].PageCount;
        }

        ResizeXbzrleCache(options.Parameters.XbzrleCacheSizeBytes);
    }

    /// <summary>Releases the cache (QEMU xbzrle_cleanup); <see cref="Cleanup"/> calls it.</summary>
    public void DisableXbzrle()
    {
        _xbzrleStarted = false;
        _xbzrleCache?.Dispose();
        _xbzrleCache = null;
        _xbzrleOptions = null;
    }

    /// <summary>QEMU find_dirty_block on a wrap: after the first complete lap, XBZRLE starts (xbzrle_started).</summary>
    private void StartXbzrleAfterLap() => _xbzrleStarted = _xbzrleCache != null;

    private void ResizeXbzrleCache(ulong sizeBytes)
    {
        _xbzrleCache?.Dispose();
        _xbzrleCache = new PageCache((long)Math.Min(sizeBytes, long.MaxValue));
        _xbzrleCacheParameter = sizeBytes;
    }

    /// <summary>
    /// QEMU save_xbzrle_page, up to the record: -1 sends the page whole from <paramref name="src"/> (which may now
    /// point at the cached copy), 0 sends nothing (unchanged since it was cached), n &gt; 0 is a delta of n bytes
    /// ready in the encode buffer for <see cref="WriteXbzrleDelta"/>.
    /// </summary>
    private int EncodeXbzrlePage(int block, int page, ref ReadOnlySpan<byte> src)
    {
        ulong wanted = _xbzrleOptions!.Parameters.XbzrleCacheSizeBytes;
        if (wanted != _xbzrleCacheParameter)
        {
            ResizeXbzrleCache(wanted);
        }

        PageCache cache = _xbzrleCache!;
        XbzrleCounters counters = _stats.Xbzrle;
        ulong key = _xbzrleBlockBase[block] + (ulong)page;
        ulong age = (ulong)_stats.DirtySyncCount;
        bool lastStage = Phase == RamPhase.Downtime;
        if (!cache.IsCached(key, age))
        {
            counters.AddCacheMiss();
            if (!lastStage && cache.TryInsert(key, src, age))
            {
                src = cache.Get(key);
            }

            return -1;
        }

        // A hit counts as encoded even when nothing is sent: the encoding rate includes skipped pages.
        counters.AddPage();
        Span<byte> cached = cache.Get(key);
        ReadOnlySpan<byte> current = src;
        if (!lastStage)
        {
            src.CopyTo(_xbzrleCurrent);
            current = _xbzrleCurrent;
        }

        int length = Xbzrle.Encode(cached, current, _xbzrleEncoded, PageSize);
        if (!lastStage && length != 0)
        {
            current.CopyTo(cached);
            src = cached;
        }

        if (length < 0)
        {
            counters.AddOverflow();
            counters.AddBytes(PageSize);
        }

        return length;
    }

    /// <summary>The XBZRLE record body after its header: u8 ENCODING_FLAG_XBZRLE, be16 length, the delta.</summary>
    private void WriteXbzrleDelta(MigrationStream s, int length, long recordStart)
    {
        s.WriteU8(Xbzrle.EncodingFlag);
        s.WriteU16((ushort)length);
        s.WriteBytes(_xbzrleEncoded.AsSpan(0, length));

        // As QEMU, the 8-byte address word is not counted.
        _stats.Xbzrle.AddBytes(s.Position - recordStart - 8);
    }

    /// <summary>QEMU xbzrle_cache_zero_page: a page sent as zero is cached as zero, so a later small write is a delta.</summary>
    private void CacheXbzrleZeroPage(int block, int page) =>
        _xbzrleCache!.TryInsert(_xbzrleBlockBase[block] + (ulong)page, _xbzrleZeroPage, (ulong)_stats.DirtySyncCount);

    /// <summary>The XBZRLE half of QEMU migration_update_rates, at the end of a ≥1 s sync period.</summary>
    private void UpdateXbzrleRates()
    {
        if (_xbzrleCache == null)
        {
            return;
        }

        XbzrleCounters c = _stats.Xbzrle;
        long pageCount = _stats.TotalPages - _xbzrleTargetPagesPrev;
        if (pageCount == 0)
        {
            return;
        }

        c.CacheMissRate = (double)(c.CacheMiss - _xbzrleCacheMissPrev) / pageCount;
        long unencoded = (c.Pages - _xbzrlePagesPrev) * PageSize;
        long compressed = c.Bytes - _xbzrleBytesPrev;

        // QEMU divides by zero when every hit was skipped; JSON has no infinity, so that period reports 0 as well.
        c.EncodingRate = unencoded == 0 || compressed == 0 ? 0 : (double)unencoded / compressed;
        _xbzrleTargetPagesPrev = _stats.TotalPages;
        _xbzrleCacheMissPrev = c.CacheMiss;
        _xbzrlePagesPrev = c.Pages;
        _xbzrleBytesPrev = c.Bytes;
    }
}
