using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;
using B = Emu.EndToEndTests.Support.SaveVmStreamBuilder;

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
    private static readonly int SnapshotRamMiB = 32;

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
        SourceKeepsItsGuestAndMigratesAgain(pair, events => Assert.Equal(["setup", "active", "failed"], events));
    }

    /// <summary>
    /// Issue 15: the precopy stream cut mid-iteration by the network (a proxy closing both connections with a
    /// FIN, or resetting them): the destination exits with one error line, its guest never ran; the source fails,
    /// keeps its guest running and migrates again.
    /// </summary>
    [Theory]
    [InlineData(LinkCut.Fin)]
    [InlineData(LinkCut.Rst)]
    public void StreamCutMidIterationFailsBothSidesAndTheSourceMigratesAgain(LinkCut cut)
    {
        using var pair = MigrationPair.Start($"fail-cut-{cut}", ramMiB: 64);
        using var proxy = new BreakableProxy(pair.Port);
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = SlowBandwidth });
        pair.Migrate($"tcp:127.0.0.1:{proxy.Port}");
        WaitForTransferred(pair, 8 << 20);
        proxy.Cut(cut);

        Assert.Equal(1, pair.Destination.WaitForExit(Timeout));
        AssertOneErrorLine(pair.Destination);
        Assert.Equal("", pair.Destination.Serial);
        SourceKeepsItsGuestAndMigratesAgain(pair, events => Assert.Equal(["setup", "active", "failed"], events));
    }

    /// <summary>
    /// Issue 15: the destination killed while it waits in setup, before the source connects: the source fails
    /// in setup (never active) and migrates again.
    /// </summary>
    [Fact]
    public void DestinationKilledInSetupFailsTheMigrationInSetupAndTheSourceMigratesAgain()
    {
        using var pair = MigrationPair.Start("fail-kill-setup", ramMiB: 64);
        Assert.Equal("setup", MigrationPair.Status(pair.DestinationQmp.Execute("query-migrate").AsObject()));
        pair.Destination.Kill();
        pair.Destination.WaitForExit(Timeout);
        pair.Migrate();
        SourceKeepsItsGuestAndMigratesAgain(pair, events => Assert.Equal(["setup", "failed"], events));
    }

    /// <summary>
    /// Issue 15: the destination killed during completion, with the source's guest already stopped for the
    /// switchover (held in pre-switchover, then continued). With the return path the source learns the
    /// destination never confirmed the load (without it, a last write that fits the socket buffer would leave the
    /// source believing it completed, as QEMU's); it fails, restarts its guest and migrates again.
    /// </summary>
    [Fact]
    public void DestinationKilledDuringCompletionFailsTheMigrationAndTheSourceGuestRunsAgain()
    {
        using var pair = MigrationPair.Start("fail-kill-completion", ramMiB: 64);
        MigrationPair.SetCapabilities(pair.SourceQmp, ["pause-before-switchover", "return-path"]);
        MigrationPair.SetCapability(pair.DestinationQmp, "return-path");
        pair.SetUnlimitedBandwidth();
        pair.Migrate();
        pair.WaitForSourceStatus("pre-switchover");
        Assert.Equal("finish-migrate", MigrationPair.RunStatus(pair.SourceQmp));
        pair.Destination.Kill();
        try
        {
            pair.SourceQmp.Execute("migrate-continue", new JsonObject { ["state"] = "pre-switchover" });
        }
        catch (QmpErrorException e) when (e.Desc.StartsWith("Migration not in expected state", StringComparison.Ordinal))
        {
            // The return path saw the destination go first and failed the migration already.
        }

        SourceKeepsItsGuestAndMigratesAgain(
            pair,
            events =>
            {
                Assert.Equal(["setup", "active", "pre-switchover"], events[..3]);
                Assert.Equal("failed", events[^1]);
                Assert.DoesNotContain("completed", events);
            },
            retry =>
            {
                MigrationPair.SetCapability(retry.DestinationQmp, "return-path");
                retry.SetCapability("pause-before-switchover", false);
            });
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

    /// <summary>
    /// A snapshot of the real machine with one device section cut out, each section in turn (the list is the
    /// snapshot's own vmdesc, so a device added later is covered too): the destination exits 1 with one line
    /// naming the section, and its guest never runs. Only Emu's downtime stamp, a log line's input, may be absent.
    /// </summary>
    [Fact]
    public void DestinationRefusesASnapshotWithoutAnyOneDeviceSection()
    {
        SnapshotDeviceSections snapshot = SnapshotDeviceSections.Parse(SaveRunningGuest("fail-nosection-src"));
        Assert.Contains(snapshot.Sections, s => s.Name == "cpu");
        Assert.Contains(snapshot.Sections, s => s.Name == "globalstate");
        var wrong = new List<string>();
        foreach (SnapshotDeviceSections.Section section in snapshot.Sections)
        {
            if (section.Name == "emu-downtime")
            {
                continue;
            }

            byte[] cut = snapshot.Without(section);
            using var dst = new EmuProcess($"fail-nosection-{section.Name}-{section.Instance}");
            string path = Path.Combine(dst.Directory, "cut.qevm");
            File.WriteAllBytes(path, cut);
            dst.Start("-m", $"{SnapshotRamMiB}M", "-kernel", EmuProcess.GuestPath("ab"), "-serial", $"file:{dst.SerialPath}", "-display", "none",
                "-incoming", $"file:{path}");
            string expected = $"emu: savevm: stream ended at offset 0x{cut.Length:x} without the section '{section.Name}' (instance {section.Instance})";
            if (!ExitsBeforeTheGuestRuns(dst) || dst.ExitCode != 1 || dst.StandardError.Trim() != expected)
            {
                wrong.Add($"without '{section.Name}' ({section.Instance}): exit {dst.ExitCode?.ToString() ?? "none"}, serial '{dst.Serial}', stderr '{dst.StandardError.Trim()}', expected '{expected}'");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>
    /// In postcopy the device state comes in the PACKAGED blob between LISTEN and RUN: a package without the cpu
    /// section is refused at RUN, before the destination guest would run from the CPU's reset state.
    /// </summary>
    [Fact]
    public void PostcopyDestinationRefusesAPackageWithoutTheCpuSection()
    {
        SnapshotDeviceSections snapshot = SnapshotDeviceSections.Parse(SaveRunningGuest("fail-nocpu-src"));
        byte[] package = new B().Cmd(B.CmdPostcopyListen)
            .Bytes(snapshot.DeviceStateWithout(snapshot.Find("cpu")))
            .Cmd(B.CmdPostcopyRun)
            .ToArray();
        byte[] stream = new B().Header().Cmd(B.CmdOpenReturnPath).PostcopyAdvise().RamSetup((ulong)SnapshotRamMiB << 20)
            .Packaged(package)
            .ToArray();

        int port = Loopback.FreeTcpPort();
        using EmuProcess dst = EmuProcess.StartGuest("ab", "fail-nocpu-postcopy", "-m", $"{SnapshotRamMiB}M", "-incoming", $"tcp:127.0.0.1:{port}");
        using (QmpClient qmp = dst.ConnectQmp())
        {
            MigrationPair.SetCapability(qmp, "postcopy-ram");
        }

        // Returns once the destination closed the channel: refused (fixed) or paused on the stream's end.
        Loopback.SendAndClose(port, stream, Timeout);
        Assert.True(ExitsBeforeTheGuestRuns(dst), $"the guest ran without its CPU state{dst.Diagnostics()}");
        Assert.Equal(1, dst.ExitCode);
        string[] errorLines = Array.FindAll(dst.StandardError.Split('\n', StringSplitOptions.TrimEntries), l => l.StartsWith("emu: ", StringComparison.Ordinal));
        Assert.Equal(["emu: postcopy: the device state ended at RUN without the section 'cpu' (instance 0)"], errorLines);
    }

    /// <summary>Waits until the process exits (true) or its guest writes to the serial line (false), within the timeout.</summary>
    private static bool ExitsBeforeTheGuestRuns(EmuProcess emu)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!emu.HasExited)
        {
            if (emu.Serial != "")
            {
                return false;
            }

            Assert.True(clock.Elapsed < Timeout, $"neither an exit nor guest output{emu.Diagnostics()}");
            Thread.Sleep(20);
        }

        emu.WaitForExit(Timeout);
        return emu.Serial == "";
    }

    /// <summary>
    /// A <c>migrate file:</c> snapshot of a running ab guest with <see cref="SnapshotRamMiB"/> of RAM: restored, it
    /// would run at once and print its passes, so a destination that accepts a broken one shows it on the serial line.
    /// </summary>
    private static byte[] SaveRunningGuest(string name)
    {
        using EmuProcess src = EmuProcess.StartGuest("ab", name, "-m", $"{SnapshotRamMiB}M");
        using QmpClient qmp = src.ConnectQmp();
        src.WaitForSerial("B", Timeout);
        string path = Path.Combine(src.Directory, "ab.qevm");
        qmp.Execute("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 0 });
        qmp.Execute("migrate", new JsonObject { ["uri"] = $"file:{path}" });
        MigrationPair.WaitForStatus(qmp, ["completed"], Timeout, src.Diagnostics);
        return File.ReadAllBytes(path);
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

    /// <summary>
    /// After a destination or its link was lost: the source's migration failed with a reason and its guest runs
    /// on (its counter still grows, the a-b invariant holds); a retry to a fresh destination completes and the
    /// guest passes the a-b rule there.
    /// </summary>
    internal static void SourceKeepsItsGuestAndMigratesAgain(MigrationPair pair, Action<List<string>> checkEvents, Action<MigrationPair>? setUpRetry = null)
    {
        JsonObject failed = MigrationPair.WaitForStatus(pair.SourceQmp, ["failed"], Timeout);
        Assert.False(string.IsNullOrEmpty(failed["error-desc"]?.GetValue<string>()), failed.ToJsonString());
        checkEvents(MigrationPair.MigrationEvents(pair.SourceQmp, "failed"));
        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));
        int passes = MigrationPair.Passes(pair.Source);
        pair.Source.WaitForSerial("B", passes + 3, Timeout);
        PrecopyTests.StopAndCheck(pair.Source, pair.SourceQmp, pair.RamBytes);
        pair.SourceQmp.Execute("cont");

        pair.StartDestination();
        setUpRetry?.Invoke(pair);
        pair.SetUnlimitedBandwidth();
        pair.MigrateToCompletion();
        pair.Destination.WaitForSerial("B", 2, Timeout);
        PrecopyTests.StopAndCheck(pair.Destination, pair.DestinationQmp, pair.RamBytes);
    }

    /// <summary>A destination that gave up prints one "emu: …" line, no .NET stack trace.</summary>
    internal static void AssertOneErrorLine(EmuProcess dst)
    {
        string stderr = dst.StandardError;
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Unhandled exception", stderr);
        Assert.DoesNotContain("internal error", stderr);
        Assert.StartsWith("emu: ", Assert.Single(stderr.Trim().Split('\n')));
    }

    internal static void WaitForTransferred(MigrationPair pair, long bytes)
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
