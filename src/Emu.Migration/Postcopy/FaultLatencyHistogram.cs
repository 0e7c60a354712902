using System.Diagnostics;
using System.Text;

namespace Emu.Migration.Postcopy;

/// <summary>
/// Remote fault latency on the destination: from a page request being sent to that page being placed. Buckets
/// are powers of two in µs (bucket i holds [2^i, 2^(i+1)) µs, bucket 0 also holds &lt; 1 µs), enough for p50/p99
/// and for the histogram logged at the end of postcopy.
/// </summary>
public sealed class FaultLatencyHistogram
{
    public const int BucketCount = 32;

    private readonly long[] _buckets = new long[BucketCount];
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Record(long elapsedTicks)
    {
        long us = elapsedTicks * 1_000_000 / Stopwatch.Frequency;
        int bucket = us <= 1 ? 0 : Math.Min(BucketCount - 1, 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)us));
        Interlocked.Increment(ref _buckets[bucket]);
        Interlocked.Increment(ref _count);
    }

    /// <summary>The upper bound in µs of the bucket holding the <paramref name="percent"/>th percentile; 0 when empty.</summary>
    public long PercentileUs(double percent)
    {
        long total = Count;
        if (total == 0)
        {
            return 0;
        }

        long rank = (long)Math.Ceiling(total * percent / 100.0);
        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank)
            {
                return 2L << i;
            }
        }

        return 2L << (BucketCount - 1);
    }

    /// <summary>"&lt;2us:5 &lt;4us:0 …" over the non-empty range, for the log.</summary>
    public string Describe()
    {
        int first = Array.FindIndex(_buckets, b => b != 0);
        int last = Array.FindLastIndex(_buckets, b => b != 0);
        if (first < 0)
        {
            return "(no requests)";
        }

        var sb = new StringBuilder();
        for (int i = first; i <= last; i++)
        {
            sb.Append(sb.Length == 0 ? "" : " ").Append('<').Append(2L << i).Append("us:").Append(Interlocked.Read(ref _buckets[i]));
        }

        return sb.ToString();
    }
}
