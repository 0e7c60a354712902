using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// Postcopy page integrity (issue 5: "no vCPU ever reads a page that is not fully placed"): the pcsum guest
/// checks, on every pass, that each page's words sum to 0 and carry the previous pass number, so a destination
/// vCPU that read a half-placed, zero or stale page prints <c>BAD page</c> and exits through isa-debug-exit.
/// </summary>
public sealed partial class PostcopyChecksumTests
{
    private const long SlowPostcopyBytesPerSec = 16L << 20;

    [Fact]
    public void DestinationNeverSeesAPartlyPlacedPage()
    {
        using var pair = PostcopyPair.StartGuest("pcsum", "P", "pc-sum", 128);

        // Background pages slower than the guest walks its region, so its checks run into missing pages and
        // the pages it waits for arrive as requested pages while it runs.
        pair.SourceQmp.Execute("migrate-set-parameters", new JsonObject { ["max-postcopy-bandwidth"] = SlowPostcopyBytesPerSec });
        pair.MigrateAndSwitch($"tcp:127.0.0.1:{pair.Port}");
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.SourceQmp, "completed", "failed"));
        Assert.Equal("completed", PostcopyPair.WaitForStatus(pair.DestinationQmp, "completed", "failed"));
        Assert.Equal("postmigrate", pair.SourceQmp.Execute("query-status")["status"]!.GetValue<string>());

        // Destination faults pulled pages while the guest checked them: the log's summary counts the requests.
        Match done = PostcopyDone().Match(pair.DestinationLog);
        Assert.True(done.Success, "the destination logs its postcopy summary" + pair.DestinationLog);
        Assert.True(long.Parse(done.Groups[1].Value) > 0, "the guest must have pulled pages: " + done.Value);

        // Two more whole passes on the destination, every page checked twice, on its own RAM only.
        pair.Source.Kill();
        int passes = pair.Destination.Serial.Count(c => c == 'P');
        try
        {
            pair.Destination.WaitForSerial("P", passes + 2, PostcopyPair.Timeout);
        }
        catch (TimeoutException e)
        {
            throw new InvalidOperationException(e.Message + pair.Diagnostics(), e);
        }

        Assert.DoesNotContain("BAD", pair.Destination.Serial);
        Assert.False(pair.Destination.HasExited, "the destination guest must still run" + pair.Diagnostics());
    }

    [GeneratedRegex(@"postcopy: done in .*?, (\d+) page requests")]
    private static partial Regex PostcopyDone();
}
