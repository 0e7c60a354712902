using System.Globalization;
using System.Text.RegularExpressions;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// Emu's destination-side postcopy figures, from the one log line written at the end of postcopy
/// (<c>PostcopyIncoming.ResultLogTemplate</c>): time from listen to done, total blocktime, page requests sent by
/// the fault thread, and the fault latency (request sent → page placed) p50/p99 from its histogram.
/// </summary>
internal sealed partial record PostcopySummary(long PostcopyMs, long BlocktimeMs, long PageRequests, long FaultP50Us, long FaultP99Us)
{
    /// <summary>The figures of the first <c>postcopy: done …</c> line in <paramref name="log"/>, or null.</summary>
    public static PostcopySummary? Parse(string log)
    {
        Match m = DoneLine().Match(log);
        return m.Success
            ? new PostcopySummary(Long(m, "ms"), Long(m, "block"), Long(m, "req"), Long(m, "p50"), Long(m, "p99"))
            : null;
    }

    private static long Long(Match m, string group) => long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"postcopy: done in (?<ms>\d+) ms, blocktime (?<block>\d+) ms, vcpu blocktime \[[^\]]*\] ms, (?<req>\d+) page requests, fault latency p50 (?<p50>\d+) us p99 (?<p99>\d+) us")]
    private static partial Regex DoneLine();
}
