using System.Diagnostics;
using System.Numerics;
using System.Text;

namespace Emu.Migration.Postcopy;

/// <summary>
/// Remote fault latency on the destination: from a page request being sent to that page being placed. Buckets are
/// log-linear in µs: exact below 4 µs, then four per power of two (so a bucket spans at most a quarter of its
/// value), fine enough to tell a 60 µs p50 from a 120 µs one and small enough to record without allocating.
/// </summary>
public sealed class FaultLatencyHistogram
{
    /// <summary>Buckets per power of two above <see cref="LinearBelowUs"/>.</summary>
    private const int SubBuckets = 4;

    private const int LinearBelowUs = SubBuckets;

    public const int BucketCount = LinearBelowUs + (63 - 2) * SubBuckets;

    private readonly long[] _buckets = new long[BucketCount];
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Record(long elapsedTicks)
    {
        long us = Math.Max(0, elapsedTicks * 1_000_000 / Stopwatch.Frequency);
        Interlocked.Increment(ref _buckets[Bucket(us)]);
        Interlocked.Increment(ref _count);
    }

    /// <summary>The bucket of <paramref name="us"/>: itself below 4, else 4 per octave by the two bits after the top one.</summary>
    internal static int Bucket(long us)
    {
        if (us < LinearBelowUs)
        {
            return (int)us;
        }

        int octave = 63 - BitOperations.LeadingZeroCount((ulong)us);
        int sub = (int)(us >> (octave - 2)) & (SubBuckets - 1);
        return Math.Min(BucketCount - 1, LinearBelowUs + ((octave - 2) * SubBuckets) + sub);
    }

    /// <summary>The exclusive upper bound in µs of bucket <paramref name="i"/>.</summary>
    internal static long UpperBoundUs(int i)
    {
        if (i < LinearBelowUs)
        {
            return i + 1;
        }

        int octave = ((i - LinearBelowUs) / SubBuckets) + 2;
        int sub = (i - LinearBelowUs) % SubBuckets;
        return (long)(SubBuckets + sub + 1) << (octave - 2);
    }

    /// <summary>The buckets that hold any fault, in order: each one's exclusive upper bound in µs and its count.</summary>
    public IReadOnlyList<(long UpperBoundUs, long Count)> NonEmptyBuckets()
    {
        var buckets = new List<(long, long)>();
        for (int i = 0; i < BucketCount; i++)
        {
            long n = Interlocked.Read(ref _buckets[i]);
            if (n != 0)
            {
                buckets.Add((UpperBoundUs(i), n));
            }
        }

        return buckets;
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
                return UpperBoundUs(i);
            }
        }

        return UpperBoundUs(BucketCount - 1);
    }

    /// <summary>"&lt;48us:98 &lt;5120us:2 …" over the non-empty buckets, for the log.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < BucketCount; i++)
        {
            long n = Interlocked.Read(ref _buckets[i]);
            if (n != 0)
            {
                sb.Append(sb.Length == 0 ? "" : " ").Append('<').Append(UpperBoundUs(i)).Append("us:").Append(n);
            }
        }

        return sb.Length == 0 ? "(no requests)" : sb.ToString();
    }
}
