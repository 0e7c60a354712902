using System.Runtime.CompilerServices;

namespace Emu.Machine.Memory;

/// <summary>
/// Which pages of a block have been placed on a postcopy destination (QEMU receivedmap). A bit is published
/// with a release write only after the page's bytes are in place, so a reader that sees it set sees the data.
/// </summary>
public sealed class ReceivedBitmap
{
    private readonly ulong[] _bits;

    public ReceivedBitmap(int pageCount)
    {
        PageCount = pageCount;
        _bits = new ulong[(pageCount + 63) / 64];
    }

    public int PageCount { get; }

    /// <summary>
    /// A bitmap with every page received except those set in <paramref name="missing"/> (null: none missing),
    /// built word by word before anyone can see it.
    /// </summary>
    public static ReceivedBitmap AllExcept(int pageCount, ulong[]? missing)
    {
        var r = new ReceivedBitmap(pageCount);
        for (int i = 0; i < r._bits.Length; i++)
        {
            r._bits[i] = missing != null && i < missing.Length ? ~missing[i] : ulong.MaxValue;
        }

        int tail = pageCount & 63;
        if (tail != 0)
        {
            r._bits[^1] &= (1UL << tail) - 1;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsReceived(int pageIndex) =>
        (Volatile.Read(ref _bits[pageIndex >> 6]) & (1UL << (pageIndex & 63))) != 0;

    /// <summary>Publishes a page as placed; returns false if it already was.</summary>
    public bool MarkReceived(int pageIndex)
    {
        ulong bit = 1UL << (pageIndex & 63);
        return (Interlocked.Or(ref _bits[pageIndex >> 6], bit) & bit) == 0;
    }

    public int CountReceived()
    {
        int n = 0;
        for (int i = 0; i < _bits.Length; i++)
        {
            n += System.Numerics.BitOperations.PopCount(Volatile.Read(ref _bits[i]));
        }

        return n;
    }

    /// <summary>A copy of the words, for RECV_BITMAP on recovery.</summary>
    public ulong[] Snapshot()
    {
        var copy = new ulong[_bits.Length];
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _bits[i]);
        }

        return copy;
    }
}
