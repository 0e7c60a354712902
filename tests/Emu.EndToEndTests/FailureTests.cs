using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// What must never happen (issue 4): a cancel, a destination that dies, a refused or hostile stream never cost the
/// source its guest, and a destination fed a corrupt, truncated or hostile stream stops with one clear error line
/// and a non-zero exit, without crashing or hanging (MIGRATION-SPEC §16 items 6, 27, 28).
/// </summary>
public sealed class FailureTests
{
    private static readonly TimeSpan Timeout = MigrationPair.Timeout;

    private static readonly ulong SlowBandwidth = 32UL << 20;
    private static readonly int DestinationRamMiB = 64;
    private static readonly ulong DestinationRam = (ulong)DestinationRamMiB << 20;

    public static TheoryData<string> HostileStreams => new(HostileStream.Names);

    /// <summary>§16 item 28: the destination dies mid-way; the source fails, keeps its guest and migrates again.</summary>
    [Fact]
    public void KilledDestinationFailsTheMigrationAndTheSourceKeepsRunning()
    {
        using var pair = MigrationPair.Start("fail-kill", ramMiB: 64);
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = SlowBandwidth });
        pair.Migrate();
        WaitForTransferred(pair, 8 << 20);
        pair.Destination.Kill();

        JsonObject failed = MigrationPair.WaitForStatus(pair.SourceQmp, ["failed"], Timeout);
        Assert.False(string.IsNullOrEmpty(failed["error-desc"]?.GetValue<string>()), failed.ToJsonString());
        Assert.Equal(["setup", "active", "failed"], MigrationPair.MigrationEvents(pair.SourceQmp, "failed"));
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));
        int passes = MigrationPair.Passes(pair.Source);
        pair.Source.WaitForSerial("B", passes + 3, Timeout);
        PrecopyTests.StopAndCheck(pair.Source, pair.SourceQmp, pair.RamBytes);
        pair.SourceQmp.Execute("cont");

        pair.StartDestination();
        pair.SetUnlimitedBandwidth();
        pair.MigrateToCompletion();
        pair.Destination.WaitForSerial("B", 2, Timeout);
        PrecopyTests.StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    /// <summary>§16 item 27: a cancel right after migrate (racing setup) ends cancelled, never completed.</summary>
    [Fact]
    public void CancelRightAfterMigrateEndsCancelled()
    {
        using var pair = MigrationPair.Start("fail-cancel-early", ramMiB: 64);
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = SlowBandwidth });
        pair.Migrate();
        pair.SourceQmp.Execute("migrate_cancel");
        MigrationPair.WaitForStatus(pair.SourceQmp, ["cancelled"], Timeout);
        List<string> events = MigrationPair.MigrationEvents(pair.SourceQmp, "cancelled");
        Assert.Equal("setup", events[0]);
        Assert.Equal(["cancelling", "cancelled"], events[^2..]);
        Assert.DoesNotContain("completed", events);
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));

        // A cancel with nothing running is a no-op, as QEMU's.
        pair.SourceQmp.Execute("migrate_cancel");
        Assert.Equal("cancelled", MigrationPair.Status(pair.QuerySource()));
        int passes = MigrationPair.Passes(pair.Source);
        pair.Source.WaitForSerial("B", passes + 2, Timeout);
        PrecopyTests.StopAndCheck(pair.Source, pair.SourceQmp, pair.RamBytes);
    }

    /// <summary>
    /// A destination with less RAM refuses the block list: it exits non-zero naming the block; the source fails
    /// and keeps running; a matching destination then takes the guest.
    /// </summary>
    [Fact]
    public void DestinationWithOtherRamSizeRefusesAndTheSourceMigratesAgain()
    {
        using var pair = MigrationPair.Start("fail-ramsize", ramMiB: 64);
        string smallUri = $"tcp:127.0.0.1:{Loopback.FreeTcpPort()}";
        using var small = EmuProcess.StartGuest("ab", "fail-ramsize-small", "-m", "32M", "-incoming", smallUri);
        using (QmpClient smallQmp = small.ConnectQmp())
        {
            MigrationPair.WaitForIncomingListening(smallQmp);
        }

        pair.SetUnlimitedBandwidth();
        pair.SourceQmp.Execute("migrate", new JsonObject { ["uri"] = smallUri });
        MigrationPair.WaitForStatus(pair.SourceQmp, ["failed"], Timeout);
        Assert.Equal(1, small.WaitForExit(Timeout));
        Assert.Contains("emu: ram: RAMBlock 'pc.ram' length 0x4000000 at stream offset 0x", small.StandardError);
        Assert.Contains("differs from the local 0x2000000", small.StandardError);
        Assert.Equal("", small.Serial);
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));

        pair.MigrateToCompletion();
        pair.Destination.WaitForSerial("B", 2, Timeout);
        PrecopyTests.StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    /// <summary>
    /// QEMU's migration-test bad-stream cases, written by hand into <c>-incoming tcp:</c>: the destination exits
    /// with code 1 and the error line names what is wrong and the stream offset; no .NET stack trace, no guest run.
    /// </summary>
    [Theory]
    [MemberData(nameof(HostileStreams))]
    public void DestinationRefusesAHostileStream(string name)
    {
        HostileStream stream = HostileStream.Build(name, DestinationRam);
        using EmuProcess dst = FeedDestination(name, stream);
        string stderr = dst.StandardError;
        Assert.Contains($"emu: {stream.ExpectedError}", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Unhandled exception", stderr);
        Assert.DoesNotContain("internal error", stderr);
        Assert.Equal("", dst.Serial);
    }

    /// <summary>The refusal is one line on stderr (the issue: "one clear error line"), not a log line plus the exit line.</summary>
    [Fact]
    public void RefusedStreamPrintsExactlyOneStderrLine()
    {
        HostileStream stream = HostileStream.Build("wrong-magic", DestinationRam);
        using EmuProcess dst = FeedDestination("one-line", stream);
        Assert.Equal($"emu: {stream.ExpectedError}", dst.StandardError.Trim());
    }

    private static EmuProcess FeedDestination(string name, HostileStream stream)
    {
        int port = Loopback.FreeTcpPort();
        EmuProcess dst = EmuProcess.StartGuest("ab", $"hostile-{name}", "-m", $"{DestinationRamMiB}M", "-incoming", $"tcp:127.0.0.1:{port}");
        try
        {
            Loopback.SendAndClose(port, stream.Bytes, Timeout);
            Assert.Equal(1, dst.WaitForExit(Timeout));
            return dst;
        }
        catch
        {
            dst.Dispose();
            throw;
        }
    }

    private static void WaitForTransferred(MigrationPair pair, long bytes)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            JsonObject info = pair.WaitForSourceStatus("active");
            if (PrecopyTests.Ram(info, "transferred") >= bytes)
            {
                return;
            }

            Assert.True(clock.Elapsed < Timeout, $"transferred stuck: {info.ToJsonString()}");
            Thread.Sleep(50);
        }
    }
}
