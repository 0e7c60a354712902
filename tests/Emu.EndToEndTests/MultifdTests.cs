using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// multifd between two real emu processes (issue 13 item 2 and 3): pages travel on 2 or 4 extra connections, raw
/// or compressed with zlib or zstd, over tcp and unix; the destination continues the guest and its memory keeps
/// the a-b rule. A channel cut mid-migration fails it cleanly: the source keeps its guest and migrates again.
/// </summary>
public sealed class MultifdTests
{
    private static readonly TimeSpan Timeout = MigrationPair.Timeout;

    [Theory]
    [InlineData(MigrationTransport.Tcp, 2, "none")]
    [InlineData(MigrationTransport.Unix, 4, "none")]
    [InlineData(MigrationTransport.Unix, 2, "zlib")]
    [InlineData(MigrationTransport.Tcp, 4, "zlib")]
    [InlineData(MigrationTransport.Tcp, 2, "zstd")]
    [InlineData(MigrationTransport.Unix, 4, "zstd")]
    public void AbGuestMigratesOverMultifdChannelsAndKeepsTheAbRule(MigrationTransport transport, int channels, string compression)
    {
        using var pair = MigrationPair.Start($"multifd-{transport.ToString().ToLowerInvariant()}-{channels}-{compression}", transport, ramMiB: 64);
        EnableMultifd(pair.SourceQmp, channels, compression);
        EnableMultifd(pair.DestinationQmp, channels, compression);
        pair.SetUnlimitedBandwidth();
        JsonObject info = pair.MigrateToCompletion();

        // The pages went on the channels: multifd-bytes counts them and transferred includes them, as QEMU's.
        long multifdBytes = PrecopyTests.Ram(info, "multifd-bytes");
        long normal = PrecopyTests.Ram(info, "normal");
        Assert.True(normal > 0, info.ToJsonString());
        Assert.True(PrecopyTests.Ram(info, "transferred") >= multifdBytes, info.ToJsonString());
        if (compression == "none")
        {
            Assert.True(multifdBytes >= normal * 4096, info.ToJsonString());
        }
        else
        {
            // The a-b guest's pages are a repeated byte: they compress many times over.
            Assert.True(multifdBytes > 0 && multifdBytes < normal * 4096 / 4, info.ToJsonString());
        }

        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));
        byte sourceV = AbInvariant.CheckOverQmp(pair.SourceQmp, pair.Source.Directory, pair.RamBytes);
        MigrationPair.WaitForStatus(pair.DestinationQmp, ["completed"], Timeout);
        pair.Destination.WaitForSerial("B", 3, Timeout);
        Assert.DoesNotContain("A", pair.Destination.Serial);
        PrecopyTests.AssertDestinationContinuedFrom(pair, sourceV);
    }

    /// <summary>
    /// One multifd channel reset mid-migration by the network (a proxy in front of the destination resets the second
    /// connection it forwarded, the first multifd channel): the source fails with an error-desc, its guest keeps
    /// running with memory intact, the destination exits with one error line, and a new migration completes.
    /// </summary>
    [Fact]
    public void AKilledMultifdChannelFailsTheMigrationAndTheSourceKeepsRunning()
    {
        using var pair = MigrationPair.Start("multifd-cut", ramMiB: 64);
        EnableMultifd(pair.SourceQmp, 2, "zlib");
        EnableMultifd(pair.DestinationQmp, 2, "zlib");
        using var proxy = new BreakableProxy(pair.Port);

        // Slow enough that the cut lands mid-migration; the guest's pages compress ~40×, so this is many passes.
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = 1 << 20 });
        pair.Migrate($"tcp:127.0.0.1:{proxy.Port}");
        FailureTests.WaitForTransferred(pair, 2 << 20);
        Assert.Equal(3, proxy.Connections);
        proxy.Cut(1, LinkCut.Rst);

        Assert.Equal(1, pair.Destination.WaitForExit(Timeout));
        FailureTests.AssertOneErrorLine(pair.Destination);
        Assert.Equal("", pair.Destination.Serial);
        FailureTests.SourceKeepsItsGuestAndMigratesAgain(
            pair,
            events => Assert.Equal(["setup", "active", "failed"], events),
            retry => EnableMultifd(retry.DestinationQmp, 2, "zlib"));
    }

    /// <summary>
    /// multifd with postcopy-ram, as QEMU 7.2 allows: the precopy pages go on the channels, migrate-start-postcopy
    /// syncs them into place before the discard list, the rest follows on the main channel, and the destination
    /// keeps the a-b rule.
    /// </summary>
    [Fact]
    public void PostcopyAfterAMultifdPrecopyCompletesWithTheAbRule()
    {
        using var pair = MigrationPair.StartPostcopy("multifd-postcopy", ramMiB: 64);
        EnableMultifd(pair.SourceQmp, 2, "none");
        EnableMultifd(pair.DestinationQmp, 2, "none");

        // downtime-limit 1 ms, and 64 MiB/s for the first lap (a second for this guest): the precopy must not
        // converge on its own before the switch. Unlimited, the channels moved the 64 MiB and completed between two
        // polls of the harness's "first pass under way" wait once their compressor code was compiled optimized.
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = 64L << 20, ["downtime-limit"] = 1 });
        pair.MigrateAndStartPostcopy();
        JsonObject done = pair.WaitForSourceStatus("completed");
        Assert.Contains("postcopy-active", MigrationPair.MigrationEvents(pair.SourceQmp, "completed"));
        Assert.True(PrecopyTests.Ram(done, "multifd-bytes") > 0, done.ToJsonString());
        Assert.True(PrecopyTests.Ram(done, "postcopy-bytes") > 0, done.ToJsonString());
        pair.WaitForDestinationStatus("completed");
        pair.Destination.WaitForSerial("B", 2, Timeout);
        MigrationPair.StopAndCheckInvariant(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    private static void EnableMultifd(QmpClient qmp, int channels, string compression)
    {
        MigrationPair.SetCapability(qmp, "multifd");
        qmp.Execute("migrate-set-parameters", new JsonObject { ["multifd-channels"] = channels, ["multifd-compression"] = compression });
    }
}
