using Emu.Migration.Ram;

namespace Emu.UnitTests.Migration;

/// <summary>The XBZRLE codec (QEMU xbzrle.c): QEMU's unit-test cases (tests/unit/test-xbzrle.c) and exact encodings.</summary>
public class XbzrleTests
{
    private const int Page = 4096;

    /// <summary>
    /// Known answers: case id, the new page as "index=hexbytes" writes over a zero page (the old page is zero),
    /// dlen, expected delta in hex ("-1" for an overflow). Derived from the format (maximal runs, trailing zrun
    /// omitted, uleb128 lengths) and QEMU's overflow checkpoints.
    /// </summary>
    public static TheoryData<string, string, int, string> KnownAnswers => new()
    {
        { "qemu-1-byte: last byte changes", "4095=01", Page, "ff1f0101" },
        { "ab: first byte changes", "0=01", Page, "000101" },
        { "two runs, two-byte zrun", "10=aabb;200=cc", Page, "0a02aabbbc0101cc" },
        { "unchanged page", "", Page, "" },
        { "whole page changed overflows", "0=" + string.Concat(Enumerable.Repeat("11", Page)), Page, "-1" },
        { "fits exactly: trailing zrun needs no room", "0=01", 5, "000101" },
        { "QEMU checks room for a pair before the trailing zrun", "0=01", 4, "-1" },
        { "room for the zrun length only", "0=01", 2, "-1" },
    };

    private static byte[] Build(string writes)
    {
        byte[] page = new byte[Page];
        foreach (string w in writes.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = w.Split('=');
            Convert.FromHexString(kv[1]).CopyTo(page, int.Parse(kv[0]));
        }

        return page;
    }

    [Theory]
    [MemberData(nameof(KnownAnswers))]
    public void EncodesKnownAnswers(string caseId, string writes, int dlen, string expectedHex)
    {
        byte[] old = new byte[Page];
        byte[] updated = Build(writes);
        byte[] dst = new byte[Page];
        int n = Xbzrle.Encode(old, updated, dst, dlen);
        if (expectedHex == "-1")
        {
            Assert.True(n == -1, $"{caseId}: expected overflow, got {n}");
            return;
        }

        Assert.True(Convert.ToHexString(dst, 0, n).Equals(expectedHex, StringComparison.OrdinalIgnoreCase), $"{caseId}: got {Convert.ToHexString(dst, 0, n)}");
        if (n > 0)
        {
            Assert.True(Xbzrle.Decode(dst.AsSpan(0, n), old) > 0, caseId);
            Assert.Equal(updated, old);
        }
    }

    /// <summary>QEMU test_uleb: every small value round-trips; 0x80 0x80 is invalid and yields 0.</summary>
    [Fact]
    public void UlebRoundTripsEverySmallValueAndRefusesAThirdByte()
    {
        Span<byte> buf = stackalloc byte[2];
        for (int i = 0; i <= Xbzrle.MaxSmallUleb; i++)
        {
            int enc = Xbzrle.EncodeUleb(buf, i);
            Assert.Equal(i < 0x80 ? 1 : 2, enc);
            Assert.Equal(enc, Xbzrle.DecodeUleb(buf, out int v));
            Assert.Equal(i, v);
        }

        Assert.Equal(-1, Xbzrle.DecodeUleb([0x80, 0x80], out int bad));
        Assert.Equal(0, bad);
    }

    /// <summary>QEMU test_encode_decode_zero / _unchanged: a page against itself encodes to nothing.</summary>
    [Fact]
    public void APageAgainstItselfIsZeroLength()
    {
        var rng = new Random(1);
        byte[] page = new byte[Page];
        int diff = rng.Next(0, Page - 1006);
        for (int i = diff; i > 0; i--)
        {
            page[1000 + i] = (byte)(i + 4);
        }

        page[1000 + diff + 3] = 107;
        page[1000 + diff + 5] = 109;
        Assert.Equal(0, Xbzrle.Encode(page, page, new byte[Page], Page));
        Assert.Equal(0, Xbzrle.Encode(new byte[Page], new byte[Page], new byte[Page], Page));
    }

    /// <summary>QEMU test_encode_decode_1_byte: length is uleb(4095) + 2 and decoding restores the page.</summary>
    [Fact]
    public void OneChangedByteAtTheEnd()
    {
        byte[] buffer = new byte[Page];
        byte[] test = new byte[Page];
        test[Page - 1] = 1;
        byte[] compressed = new byte[Page];
        int dlen = Xbzrle.Encode(buffer, test, compressed, Page);
        Assert.Equal(Xbzrle.EncodeUleb(new byte[2], 4095) + 2, dlen);
        Assert.Equal(Page, Xbzrle.Decode(compressed.AsSpan(0, dlen), buffer));
        Assert.Equal(test, buffer);
    }

    /// <summary>QEMU test_encode_decode_overflow: every other byte changed does not fit a page.</summary>
    [Fact]
    public void AlternatingChangesOverflow()
    {
        byte[] test = new byte[Page];
        for (int i = 0; i < (Page / 2) - 1; i++)
        {
            test[i * 2] = 1;
        }

        Assert.Equal(-1, Xbzrle.Encode(new byte[Page], test, new byte[Page], Page));
    }

    /// <summary>QEMU test_encode_decode (10000 × encode_decode_range), with a fixed seed so a failure repeats.</summary>
    [Fact]
    public void RandomRangesRoundTrip()
    {
        var rng = new Random(20130101);
        byte[] compressed = new byte[Page];
        for (int round = 0; round < 10000; round++)
        {
            byte[] buffer = new byte[Page];
            byte[] test = new byte[Page];
            int diff = rng.Next(0, Page - 1006);
            for (int i = diff; i > 0; i--)
            {
                buffer[1000 + i] = (byte)i;
                test[1000 + i] = (byte)(i + 4);
            }

            buffer[1000 + diff + 3] = 103;
            test[1000 + diff + 3] = 107;
            buffer[1000 + diff + 5] = 105;
            test[1000 + diff + 5] = 109;
            int dlen = Xbzrle.Encode(test, buffer, compressed, Page);
            int rc = Xbzrle.Decode(compressed.AsSpan(0, Math.Max(dlen, 0)), test);
            Assert.True(rc < Page, $"round {round}: decode covered {rc}");
            Assert.Equal(buffer, test);
        }
    }

    /// <summary>Random pages with random sparse changes: decode(encode) is the new page or an overflow.</summary>
    [Fact]
    public void SparseRandomChangesRoundTripOrOverflow()
    {
        var rng = new Random(7);
        byte[] delta = new byte[Page];
        for (int round = 0; round < 2000; round++)
        {
            byte[] old = new byte[Page];
            rng.NextBytes(old);
            byte[] updated = (byte[])old.Clone();
            int changes = rng.Next(1, 64);
            for (int c = 0; c < changes; c++)
            {
                int at = rng.Next(Page);
                int len = Math.Min(rng.Next(1, 40), Page - at);
                for (int k = 0; k < len; k++)
                {
                    updated[at + k] ^= (byte)rng.Next(1, 256);
                }
            }

            int n = Xbzrle.Encode(old, updated, delta, Page);
            if (n < 0)
            {
                continue;
            }

            Assert.True(Xbzrle.Decode(delta.AsSpan(0, n), old) >= 0, $"round {round}");
            Assert.Equal(updated, old);
        }
    }

    [Theory]
    [InlineData("01", "one byte cannot hold a pair")]
    [InlineData("000000", "an empty nzrun")]
    [InlineData("0001010001aa", "a zero zrun after the first")]
    [InlineData("000501", "an nzrun longer than the delta")]
    [InlineData("8080", "a length with a third byte")]
    [InlineData("ff1f02aabb", "an nzrun past the page end")]
    [InlineData("812001aa", "a zrun past the page end")]
    public void DecodeRefusesMalformedDeltasAndLeavesThePage(string hex, string what)
    {
        byte[] page = new byte[Page];
        Array.Fill(page, (byte)0x77);
        Assert.True(Xbzrle.Decode(Convert.FromHexString(hex), page) == -1, what);
        Assert.All(page, b => Assert.Equal(0x77, b));
    }
}
