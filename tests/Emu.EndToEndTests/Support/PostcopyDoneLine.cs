using System.Globalization;
using System.Text.RegularExpressions;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// The destination's <c>postcopy: done …</c> log line (Emu.Migration's PostcopyIncoming.ResultLogTemplate): how
/// many page requests the fault thread sent, and how many pages each channel placed after LISTEN.
/// </summary>
public sealed partial record PostcopyDoneLine(string Text, long PageRequests, long MainChannelPages, long PreemptChannelPages)
{
    /// <summary>Waits until the destination's log holds the line (the file is flushed every 200 ms) and parses it.</summary>
    public static PostcopyDoneLine WaitFor(MigrationPair pair)
    {
        Match m = Match.Empty;
        pair.WaitUntil(() => (m = Pattern().Match(pair.DestinationLog)).Success, "the destination's 'postcopy: done' log line");
        return new PostcopyDoneLine(m.Value, Number(m, "requests"), Number(m, "main"), Number(m, "preempt"));
    }

    private static long Number(Match m, string group) => long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"postcopy: done in \d+ ms, .*?, (?<requests>\d+) page requests, .*?, (?<main>\d+) pages placed from the main channel and (?<preempt>\d+) from the preempt channel")]
    private static partial Regex Pattern();
}
