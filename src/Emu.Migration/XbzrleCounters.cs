namespace Emu.Migration;

/// <summary>
/// QEMU xbzrle_counters, behind query-migrate's "xbzrle-cache" object. Written by the migration thread, read by
/// QMP; reset with the rest of <see cref="MigrationStats"/> when a migration starts.
/// </summary>
public sealed class XbzrleCounters
{
    private long _bytes;
    private long _pages;
    private long _cacheMiss;
    private long _overflow;
    private long _cacheMissRateBits;
    private long _encodingRateBits;

    /// <summary>Bytes of XBZRLE records without their 8-byte address word, plus a page for each overflow.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Cache hits: pages encoded, sent or skipped as unchanged (QEMU counts both for the encoding rate).</summary>
    public long Pages => Volatile.Read(ref _pages);

    /// <summary>Dirty pages that were not in the cache.</summary>
    public long CacheMiss => Volatile.Read(ref _cacheMiss);

    /// <summary>Deltas that did not fit a page: the page went whole.</summary>
    public long Overflow => Volatile.Read(ref _overflow);

    /// <summary>Cache misses per page sent over the last ≥1 s sync period.</summary>
    public double CacheMissRate
    {
        get => BitConverter.Int64BitsToDouble(Volatile.Read(ref _cacheMissRateBits));
        set => Volatile.Write(ref _cacheMissRateBits, BitConverter.DoubleToInt64Bits(value));
    }

    /// <summary>Page bytes encoded ÷ XBZRLE bytes over the last ≥1 s sync period; 0 when nothing was encoded.</summary>
    public double EncodingRate
    {
        get => BitConverter.Int64BitsToDouble(Volatile.Read(ref _encodingRateBits));
        set => Volatile.Write(ref _encodingRateBits, BitConverter.DoubleToInt64Bits(value));
    }

    public void AddBytes(long bytes) => Interlocked.Add(ref _bytes, bytes);

    public void AddPage() => Interlocked.Increment(ref _pages);

    public void AddCacheMiss() => Interlocked.Increment(ref _cacheMiss);

    public void AddOverflow() => Interlocked.Increment(ref _overflow);

    /// <summary>A new migration starts from zero.</summary>
    public void Reset()
    {
        _bytes = _pages = _cacheMiss = _overflow = 0;
        _cacheMissRateBits = _encodingRateBits = 0;
    }
}
