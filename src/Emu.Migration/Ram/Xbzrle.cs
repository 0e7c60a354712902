using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Emu.Migration.Ram;

/// <summary>
/// XOR-based zero run-length encoding of one page against its previous version (QEMU xbzrle.c). The delta is a
/// sequence of pairs, each a run of unchanged bytes followed by a run of changed bytes with the new values:
/// <code>
/// delta = (zrun nzrun)*          a trailing zrun is omitted
/// zrun  = uleb128 length          bytes equal in the old and the new page (0 only as the very first length)
/// nzrun = uleb128 length, bytes   length &gt; 0 new bytes
/// uleb128 of a length ≤ 0x3fff:  1 byte below 0x80, else (len &amp; 0x7f) | 0x80, len &gt;&gt; 7
/// </code>
/// Runs are maximal, so the encoding of a pair of pages is unique and matches QEMU's byte for byte. An unchanged
/// page encodes to nothing (length 0); a delta that would not fit <c>dlen</c> bytes is an overflow (-1), checked at
/// the same points as xbzrle_encode_buffer so the overflow counter agrees with QEMU's.
/// </summary>
/// <remarks>Pure functions over spans: no machine, no allocation (STYLE: the XBZRLE core is testable alone).</remarks>
public static class Xbzrle
{
    /// <summary>QEMU ENCODING_FLAG_XBZRLE: the byte after the record header.</summary>
    public const byte EncodingFlag = 0x1;

    /// <summary>Largest length uleb128_encode_small writes (two bytes).</summary>
    public const int MaxSmallUleb = 0x3fff;

    /// <summary>QEMU uleb128_encode_small: writes <paramref name="value"/> (≤ 0x3fff), returns 1 or 2 bytes written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EncodeUleb(Span<byte> dst, int value)
    {
        if (value < 0x80)
        {
            dst[0] = (byte)value;
            return 1;
        }

        dst[0] = (byte)((value & 0x7f) | 0x80);
        dst[1] = (byte)(value >> 7);
        return 2;
    }

    /// <summary>
    /// QEMU uleb128_decode_small: reads a one- or two-byte length. Returns the bytes consumed, or -1 (value 0) when
    /// the second byte also has its continuation bit set. <paramref name="src"/> must hold at least two bytes
    /// when the first has the continuation bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DecodeUleb(ReadOnlySpan<byte> src, out int value)
    {
        byte b0 = src[0];
        if ((b0 & 0x80) == 0)
        {
            value = b0;
            return 1;
        }

        byte b1 = src[1];
        if ((b1 & 0x80) != 0)
        {
            value = 0;
            return -1;
        }

        value = (b0 & 0x7f) | (b1 << 7);
        return 2;
    }

    /// <summary>
    /// QEMU xbzrle_encode_buffer: the delta from <paramref name="oldPage"/> to <paramref name="newPage"/> into
    /// <paramref name="dst"/> (at most <paramref name="dlen"/> bytes). Returns its length, 0 when the pages are
    /// equal, -1 on overflow. Pages are at most 0x3fff bytes (every length fits two uleb128 bytes).
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> oldPage, ReadOnlySpan<byte> newPage, Span<byte> dst, int dlen)
    {
        int slen = newPage.Length;
        if (oldPage.Length != slen || slen > MaxSmallUleb || dlen > dst.Length)
        {
            throw new ArgumentException($"xbzrle: pages of {oldPage.Length} and {slen} bytes into {dst.Length} (dlen {dlen}) cannot be encoded");
        }

        int d = 0, i = 0;
        while (i < slen)
        {
            if (d + 2 > dlen)
            {
                return -1;
            }

            int zrun = oldPage[i..].CommonPrefixLength(newPage[i..]);
            if (zrun == slen)
            {
                return 0;
            }

            i += zrun;
            if (i == slen)
            {
                // The trailing unchanged run is implied.
                return d;
            }

            d += EncodeUleb(dst[d..], zrun);
            if (d + 2 > dlen)
            {
                return -1;
            }

            int start = i;
            i += ChangedRunLength(oldPage[i..], newPage[i..]);
            int nzrun = i - start;
            d += EncodeUleb(dst[d..], nzrun);
            if (d + nzrun > dlen)
            {
                return -1;
            }

            newPage.Slice(start, nzrun).CopyTo(dst[d..]);
            d += nzrun;
        }

        return d;
    }

    /// <summary>
    /// Checks a delta the way QEMU xbzrle_decode_buffer does, without writing: every length well formed, a zero
    /// zrun only first, every nzrun non-empty, nothing past <paramref name="pageLength"/> or the delta's end.
    /// Returns the bytes of the page the delta covers, or -1.
    /// </summary>
    public static int Validate(ReadOnlySpan<byte> delta, int pageLength)
    {
        int i = 0, d = 0;
        while (i < delta.Length)
        {
            if (delta.Length - i < 2)
            {
                return -1;
            }

            int n = DecodeUleb(delta[i..], out int zrun);
            if (n < 0 || (i != 0 && zrun == 0))
            {
                return -1;
            }

            i += n;
            d += zrun;
            if (d > pageLength || delta.Length - i < 2)
            {
                return -1;
            }

            n = DecodeUleb(delta[i..], out int nzrun);
            if (n < 0 || nzrun == 0)
            {
                return -1;
            }

            i += n;
            if (d + nzrun > pageLength || i + nzrun > delta.Length)
            {
                return -1;
            }

            d += nzrun;
            i += nzrun;
        }

        return d;
    }

    /// <summary>
    /// QEMU xbzrle_decode_buffer: applies <paramref name="delta"/> to <paramref name="page"/> in place (the page
    /// holds the previous version). The delta is validated first, so a malformed one leaves the page untouched.
    /// Returns the bytes covered, or -1.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> delta, Span<byte> page)
    {
        int covered = Validate(delta, page.Length);
        if (covered < 0)
        {
            return -1;
        }

        int i = 0, d = 0;
        while (i < delta.Length)
        {
            i += DecodeUleb(delta[i..], out int zrun);
            d += zrun;
            i += DecodeUleb(delta[i..], out int nzrun);
            delta.Slice(i, nzrun).CopyTo(page[d..]);
            d += nzrun;
            i += nzrun;
        }

        return covered;
    }

    /// <summary>The length of the run of differing bytes at the start (the first index where the pages agree).</summary>
    private static int ChangedRunLength(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int n = a.Length;
        int i = 0;

        // Changed runs are usually short (a counter, a pointer): look at a few bytes before going wide.
        int head = Math.Min(n, 8);
        for (; i < head; i++)
        {
            if (a[i] == b[i])
            {
                return i;
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            ref byte ra = ref Unsafe.AsRef(in a[0]);
            ref byte rb = ref Unsafe.AsRef(in b[0]);
            for (; i + Vector256<byte>.Count <= n; i += Vector256<byte>.Count)
            {
                Vector256<byte> eq = Vector256.Equals(
                    Vector256.LoadUnsafe(ref ra, (nuint)i),
                    Vector256.LoadUnsafe(ref rb, (nuint)i));
                uint mask = eq.ExtractMostSignificantBits();
                if (mask != 0)
                {
                    return i + BitOperations.TrailingZeroCount(mask);
                }
            }
        }

        for (; i < n; i++)
        {
            if (a[i] == b[i])
            {
                return i;
            }
        }

        return n;
    }
}
