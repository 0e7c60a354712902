using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// Issue 15: postcopy across a real link between two network namespaces. A link that goes down does not break
/// the connection, it stalls it, so neither side fails by itself; QEMU's procedure is <c>migrate-pause</c> on
/// both sides, then, with the link back, <c>migrate-recover</c> and <c>migrate resume=true</c>. Needs root and
/// <c>ip netns</c>; skipped with the reason otherwise.
/// </summary>
public sealed class PostcopyNetworkNamespaceTests
{
    private const int RamMiB = 128;
    private const int Port = 4444, RecoverPort = 4445;
    private static readonly TimeSpan Timeout = MigrationPair.Timeout;

    [SkippableFact]
    public void LinkDownMidPostcopyThenPauseBothSidesAndRecoverCompletesWithTheAbRule()
    {
        string? why = NetworkNamespacePair.Unavailable();
        Skip.If(why != null, why);
        using NetworkNamespacePair ns = NetworkNamespacePair.Create();
        using EmuProcess src = Start(ns.Source, "netns-src");
        using EmuProcess dst = Start(ns.Destination, "netns-dst", "-incoming", $"tcp:{NetworkNamespacePair.DestinationAddress}:{Port}");
        using QmpClient srcQmp = src.ConnectQmp();
        using QmpClient dstQmp = dst.ConnectQmp();
        src.WaitForSerial("B", Timeout);
        MigrationPair.SetCapabilities(srcQmp, ["postcopy-ram"]);
        MigrationPair.SetCapabilities(dstQmp, ["postcopy-ram", "postcopy-blocktime"]);
        srcQmp.Execute("migrate-set-parameters", new JsonObject { ["max-postcopy-bandwidth"] = PostcopyTests.SlowPostcopyBytesPerSec });
        srcQmp.Execute("migrate", new JsonObject { ["uri"] = $"tcp:{NetworkNamespacePair.DestinationAddress}:{Port}" });
        WaitUntil(() => MigrationPair.Transferred(srcQmp) > (RamMiB << 20) / 4, "the first pass under way", src, dst);
        srcQmp.Execute("migrate-start-postcopy");
        MigrationPair.WaitForStatus(srcQmp, ["postcopy-active"], Timeout, src.Diagnostics);
        MigrationPair.WaitForStatus(dstQmp, ["postcopy-active"], Timeout, dst.Diagnostics);

        ns.LinkDown();
        // The link is down, not broken: both sides stay in postcopy-active until told.
        Thread.Sleep(500);
        Assert.Equal("postcopy-active", MigrationPair.Status(srcQmp.Execute("query-migrate").AsObject()));
        srcQmp.Execute("migrate-pause");
        dstQmp.Execute("migrate-pause");
        MigrationPair.WaitForStatus(srcQmp, ["postcopy-paused"], Timeout, src.Diagnostics);
        MigrationPair.WaitForStatus(dstQmp, ["postcopy-paused"], Timeout, dst.Diagnostics);
        Assert.False(dst.HasExited, "the destination must wait for its pages, not fail:\n" + dst.Diagnostics());

        ns.LinkUp();
        srcQmp.Execute("migrate-set-parameters", new JsonObject { ["max-postcopy-bandwidth"] = 0 });
        string recoverUri = $"tcp:{NetworkNamespacePair.DestinationAddress}:{RecoverPort}";
        dstQmp.Execute("migrate-recover", new JsonObject { ["uri"] = recoverUri });
        srcQmp.Execute("migrate", new JsonObject { ["uri"] = recoverUri, ["resume"] = true });
        MigrationPair.WaitForStatus(srcQmp, ["completed"], Timeout, src.Diagnostics);
        MigrationPair.WaitForStatus(dstQmp, ["completed"], Timeout, dst.Diagnostics);
        Assert.Contains("postcopy-recover", MigrationPair.MigrationEvents(srcQmp, "completed"));

        dst.WaitForSerial("B", MigrationPair.Passes(dst) + 1, Timeout);
        Assert.DoesNotContain("A", dst.Serial);
        MigrationPair.StopAndCheckInvariant(dst, dstQmp, (ulong)RamMiB << 20);
    }

    private static EmuProcess Start(string ns, string name, params string[] extra) =>
        NetworkNamespacePair.EmuIn(ns, name, ["-kernel", EmuProcess.GuestPath("ab"), "-m", $"{RamMiB}M", "-display", "none", .. extra]);

    private static void WaitUntil(Func<bool> condition, string what, EmuProcess src, EmuProcess dst)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Timeout, $"e2e: waited {Timeout.TotalSeconds:0} s for {what}\n{src.Diagnostics()}\n{dst.Diagnostics()}");
            Thread.Sleep(50);
        }
    }
}
