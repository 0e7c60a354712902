using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// Postcopy page integrity (issue 5: "no vCPU ever reads a page that is not fully placed"): the pcsum guest
/// checks, on every pass, that each page's words sum to 0 and carry the previous pass number, so a destination
/// vCPU that read a half-placed, zero or stale page prints <c>BAD page</c> and exits through isa-debug-exit.
/// </summary>
public sealed class PostcopyChecksumTests
{
    [Fact]
    public void DestinationNeverSeesAPartlyPlacedPage()
    {
        using var pair = MigrationPair.StartPostcopy("pc-sum", guest: "pcsum", passMark: "P");

        // Background pages slower than the guest walks its region, so its checks run into missing pages and
        // the pages it waits for arrive as requested pages while it runs.
        PostcopyTests.SlowPostcopy(pair);
        pair.MigrateAndSwitch();
        pair.WaitForSourceStatus("completed");
        pair.WaitForDestinationStatus("completed");
        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));

        // Destination faults pulled pages while the guest checked them: the log's summary counts the requests.
        PostcopyDoneLine done = PostcopyDoneLine.WaitFor(pair);
        Assert.True(done.PageRequests > 0, "the guest must have pulled pages: " + done.Text);

        // Two more whole passes on the destination, every page checked twice, on its own RAM only.
        pair.Source.Kill();
        pair.Destination.WaitForSerial("P", pair.Destination.Serial.Count(c => c == 'P') + 2, MigrationPair.Timeout);
        Assert.DoesNotContain("BAD", pair.Destination.Serial);
        Assert.False(pair.Destination.HasExited, "the destination guest must still run" + pair.Diagnostics());
    }
}
