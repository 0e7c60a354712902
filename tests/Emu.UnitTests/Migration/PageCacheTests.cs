using Emu.Migration.Ram;

namespace Emu.UnitTests.Migration;

/// <summary>The XBZRLE page cache (QEMU page_cache.c): sizing, hits, and the eviction rule.</summary>
public class PageCacheTests
{
    private static byte[] Filled(byte v)
    {
        byte[] p = new byte[4096];
        Array.Fill(p, v);
        return p;
    }

    [Theory]
    [InlineData(4096L, 1L)]
    [InlineData(5 * 4096L, 4L)]
    [InlineData(8 * 4096L, 8L)]
    [InlineData((8 * 4096L) + 100, 8L)]
    [InlineData(64L << 20, 16384L)]
    public void SlotsRoundDownToAPowerOfTwo(long bytes, long slots)
    {
        using var c = new PageCache(bytes);
        Assert.Equal(slots, c.Slots);
        Assert.Equal(slots * 4096, c.SizeBytes);
    }

    [Fact]
    public void ACacheSmallerThanAPageIsRefused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PageCache(4095));
        Assert.StartsWith("xbzrle: cache of 4095 bytes is smaller than one page (4096)", e.Message);
    }

    [Fact]
    public void InsertThenHitReturnsTheCachedBytes()
    {
        using var c = new PageCache(4 * 4096);
        Assert.False(c.IsCached(5, 1));
        Assert.True(c.TryInsert(5, Filled(0xAB), 1));
        Assert.True(c.IsCached(5, 1));
        Assert.All(c.Get(5).ToArray(), b => Assert.Equal(0xAB, b));

        // Page 1 shares slot 1 with page 5: not a hit.
        Assert.False(c.IsCached(1, 1));
        Assert.Throws<InvalidOperationException>(() => c.Get(1));
    }

    [Fact]
    public void AFreshPageIsNotEvictedByAnotherPageOfItsSlot()
    {
        using var c = new PageCache(4 * 4096);
        Assert.True(c.TryInsert(5, Filled(1), 10));

        // age 10 + lifetime 2 > 11: refused, contents kept.
        Assert.False(c.TryInsert(1, Filled(2), 11));
        Assert.True(c.IsCached(5, 11));

        // The hit refreshed the age to 11: at 12 still fresh, at 13 stale.
        Assert.False(c.TryInsert(1, Filled(2), 12));
        Assert.True(c.TryInsert(1, Filled(2), 13));
        Assert.False(c.IsCached(5, 13));
        Assert.True(c.IsCached(1, 13));
        Assert.All(c.Get(1).ToArray(), b => Assert.Equal(2, b));
    }

    [Fact]
    public void ThePageItselfMayAlwaysBeReplaced()
    {
        using var c = new PageCache(4096);
        Assert.True(c.TryInsert(7, Filled(1), 3));
        Assert.True(c.TryInsert(7, Filled(9), 3));
        Assert.All(c.Get(7).ToArray(), b => Assert.Equal(9, b));
    }
}
