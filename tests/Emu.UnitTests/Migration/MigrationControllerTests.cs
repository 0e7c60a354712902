using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Emu.Machine.Board;
using Emu.Migration;
using Emu.Migration.Precopy;

namespace Emu.UnitTests.Migration;

/// <summary>Source and destination controllers in one process, over real sockets and files.</summary>
public sealed class MigrationControllerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-mig-").FullName;
    private readonly List<IDisposable> _disposables = [];

    public void Dispose()
    {
        foreach (IDisposable d in _disposables)
        {
            d.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private sealed class Side
    {
        public required FakeMachine Machine { get; init; }

        public required MigrationController Mig { get; init; }

        public List<(string Name, JsonObject? Data)> Events { get; } = [];

        public List<string> Statuses
        {
            get
            {
                lock (Events)
                {
                    return [.. Events.Where(e => e.Name == "MIGRATION").Select(e => (string)e.Data!["status"]!)];
                }
            }
        }

        public string? IncomingError { get; set; }

        /// <summary>Runs on the emitting thread (MIGRATION_PASS: the migration thread, right after a sync).</summary>
        public Action<string>? OnEvent { get; set; }
    }

    private Side NewSide(ulong ramBytes = 64 * 4096)
    {
        var m = new FakeMachine(("pc.ram", ramBytes), ("vga.vram", 4 * 4096));
        _disposables.Add(m);
        Side? side = null;
        var mig = new MigrationController(m, (n, d) =>
        {
            lock (side!.Events)
            {
                side.Events.Add((n, d));
            }

            side.OnEvent?.Invoke(n);
        });
        side = new Side { Machine = m, Mig = mig };
        mig.IncomingFailed = e => side.IncomingError = e;
        return side;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }

    private static void FillPages(FakeMachine m, int pages)
    {
        for (int p = 0; p < pages; p++)
        {
            m.RamBlocks[0].Page(p).Fill((byte)(p * 7 + 1));
        }
    }

    private static void AssertSameRam(FakeMachine a, FakeMachine b)
    {
        for (int blk = 0; blk < a.RamBlocks.Count; blk++)
        {
            for (int p = 0; p < a.RamBlocks[blk].PageCount; p++)
            {
                Assert.True(a.RamBlocks[blk].Page(p).SequenceEqual(b.RamBlocks[blk].Page(p)), $"block {blk} page {p} differs");
            }
        }
    }

    [Fact]
    public void XbzrleMigrationSendsDeltasAndReportsTheCache()
    {
        Side src = NewSide(), dst = NewSide();
        FillPages(src.Machine, 40);
        src.Mig.SetCapabilities([("xbzrle", true)]);
        src.Mig.SetParameters(new JsonObject { ["xbzrle-cache-size"] = 32 * 4096, ["downtime-limit"] = 2000000 });

        // The "guest" writes one byte in each of 16 pages after every sync, so the migration never finds RAM
        // clean and cannot converge until the test says so; XBZRLE warms up over those laps.
        int writing = 1;
        byte v = 0;
        src.OnEvent = n =>
        {
            if (n == "MIGRATION_PASS" && Volatile.Read(ref writing) != 0)
            {
                v++;
                for (int p = 0; p < 16; p++)
                {
                    src.Machine.GuestWrite(0, (ulong)p * 4096, v);
                }
            }
        };
        // 1 MiB/s makes the first lap outlast the first 100 ms window, which sets the tiny switchover budget.
        src.Mig.SetParameters(new JsonObject { ["avail-switchover-bandwidth"] = 1, ["downtime-limit"] = 1, ["max-bandwidth"] = 1 << 20 });
        string sock = Path.Combine(_dir, "xbzrle.sock");
        dst.Mig.StartIncoming($"unix:{sock}");
        src.Mig.StartOutgoing($"unix:{sock}");
        WaitFor(() => src.Mig.Stats.Xbzrle.Pages > 32 || !src.Mig.Status.IsRunning(), "XBZRLE cache hits");
        Assert.Equal(MigrationStatus.Active, src.Mig.Status);
        JsonObject active = src.Mig.QueryMigrate();
        Assert.Equal(32UL * 4096, (ulong)active["xbzrle-cache"]!["cache-size"]!);
        Volatile.Write(ref writing, 0);
        src.Mig.SetParameters(new JsonObject { ["avail-switchover-bandwidth"] = 0, ["downtime-limit"] = 2000000, ["max-bandwidth"] = 0 });
        WaitFor(() => src.Mig.Status == MigrationStatus.Completed, "source completed");
        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Completed, "destination completed");
        AssertSameRam(src.Machine, dst.Machine);

        JsonObject x = src.Mig.QueryMigrate()["xbzrle-cache"]!.AsObject();
        Assert.Equal(32UL * 4096, (ulong)x["cache-size"]!);
        Assert.True((long)x["pages"]! > 32);
        Assert.True((long)x["bytes"]! > 0);
        Assert.True((long)x["cache-miss"]! >= 16);
        Assert.Equal(0, (long)x["overflow"]!);
        Assert.True(x.ContainsKey("cache-miss-rate") && x.ContainsKey("encoding-rate"));
    }

    [Fact]
    public void PrecopyOverUnixSocketMovesARunningGuest()
    {
        Side src = NewSide(), dst = NewSide();
        FillPages(src.Machine, 40);
        src.Machine.Timer.State = new FakeDeviceState { Counter = 12345, Mode = 1 };
        src.Machine.StartGuest(16);
        string sock = Path.Combine(_dir, "mig.sock");
        dst.Mig.StartIncoming($"unix:{sock}");
        Assert.Equal(RunState.InMigrate, dst.Machine.RunState);
        src.Mig.StartOutgoing($"unix:{sock}");
        WaitFor(() => src.Mig.Status == MigrationStatus.Completed, "source completed");
        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Completed, "destination completed");

        // The MIGRATION event follows the status change on the migration thread: wait for it, not just the status.
        WaitFor(() => src.Statuses.Count == 3 && dst.Statuses.Count == 3, "completed events");
        Assert.Equal(RunState.PostMigrate, src.Machine.RunState);
        Assert.Equal(RunState.Running, dst.Machine.RunState);
        Assert.Equal(1, dst.Machine.StartCount);
        Assert.Equal(1, dst.Machine.FlushCount);
        AssertSameRam(src.Machine, dst.Machine);
        Assert.Equal(src.Machine.Timer.State, dst.Machine.Timer.State);
        Assert.Equal(["setup", "active", "completed"], src.Statuses);
        Assert.Equal(["setup", "active", "completed"], dst.Statuses);
        Assert.Contains(src.Events, e => e.Name == "MIGRATION_PASS" && (long)e.Data!["pass"]! == 1);
        Assert.NotNull(dst.Mig.Incoming!.TruePauseMs);
        Assert.True(dst.Mig.Incoming.TruePauseMs >= 0);

        JsonObject q = src.Mig.QueryMigrate();
        Assert.Equal("completed", (string)q["status"]!);
        Assert.True((long)q["downtime"]! >= 0);
        Assert.True((long)q["total-time"]! >= (long)q["downtime"]!);
        JsonObject ram = q["ram"]!.AsObject();
        Assert.Equal(0, (long)ram["remaining"]!);
        Assert.Equal(68 * 4096, (long)ram["total"]!);
        Assert.True((long)ram["normal"]! >= 40);
        Assert.Equal((long)ram["normal"]! * 4096, (long)ram["normal-bytes"]!);
        Assert.True((long)ram["transferred"]! > (long)ram["normal-bytes"]!);
        Assert.False(ram.ContainsKey("dirty-pages-rate"));
        Assert.Equal("completed", (string)dst.Mig.QueryMigrate()["status"]!);
        Assert.Equal(0, src.Machine.ThrottlePercent);
    }

    [Fact]
    public void PrecopyOverTcpToAnEphemeralPort()
    {
        Side src = NewSide(), dst = NewSide();
        FillPages(src.Machine, 10);
        dst.Mig.StartIncoming("tcp:127.0.0.1:0");
        int port = dst.Mig.Incoming!.ListeningPort;
        src.Mig.StartOutgoing($"tcp:127.0.0.1:{port}");
        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Completed, "destination completed");
        AssertSameRam(src.Machine, dst.Machine);
    }

    [Fact]
    public void FileSnapshotIsRestored()
    {
        Side src = NewSide(), dst = NewSide();
        FillPages(src.Machine, 20);
        string file = Path.Combine(_dir, "snap.bin");
        src.Mig.StartOutgoing($"file:{file}");
        WaitFor(() => src.Mig.Status == MigrationStatus.Completed, "snapshot written");
        dst.Mig.StartIncoming($"file:{file}");
        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Completed, "snapshot restored");
        AssertSameRam(src.Machine, dst.Machine);
        Assert.Equal(RunState.Running, dst.Machine.RunState);
    }

    [Fact]
    public void PausedSourceLeavesTheDestinationPaused()
    {
        Side src = NewSide(), dst = NewSide();
        src.Machine.Stop(RunState.Paused);
        string file = Path.Combine(_dir, "paused.bin");
        src.Mig.StartOutgoing($"file:{file}");
        WaitFor(() => src.Mig.Status == MigrationStatus.Completed, "snapshot written");
        dst.Mig.StartIncoming($"file:{file}");
        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Completed, "snapshot restored");
        Assert.Equal(RunState.Paused, dst.Machine.RunState);
        Assert.Equal(0, dst.Machine.StartCount);
    }

    [Fact]
    public void CancelLeavesTheSourceRunningAndASecondMigrateWorks()
    {
        Side src = NewSide(16 << 20), dst = NewSide(16 << 20);
        FillPages(src.Machine, 4096);
        src.Machine.StartGuest(8);
        src.Mig.SetParameters(new JsonObject { ["max-bandwidth"] = 1 << 20 });
        string sock = Path.Combine(_dir, "cancel.sock");
        dst.Mig.StartIncoming($"unix:{sock}");
        src.Mig.StartOutgoing($"unix:{sock}");
        WaitFor(() => src.Mig.Status == MigrationStatus.Active, "active");
        Assert.Equal("There's a migration process in progress", Assert.Throws<MigrationException>(() => src.Mig.StartOutgoing($"unix:{sock}")).Message);
        Assert.Equal("There's a migration process in progress",
            Assert.Throws<MigrationException>(() => src.Mig.SetCapabilities([("auto-converge", true)])).Message);
        JsonObject q = src.Mig.QueryMigrate();
        Assert.Equal("active", (string)q["status"]!);
        Assert.Equal(300, (long)q["expected-downtime"]!);
        Assert.True(q["ram"]!.AsObject().ContainsKey("dirty-pages-rate"));
        src.Mig.Cancel();
        WaitFor(() => src.Mig.Status == MigrationStatus.Cancelled, "cancelled");
        Assert.Equal(["setup", "active", "cancelling", "cancelled"], src.Statuses);
        Assert.Equal(RunState.Running, src.Machine.RunState);
        Assert.False(src.Machine.RamBlocks[0].DirtyLog.IsEnabled(Emu.Machine.Memory.DirtyClient.Migration));
        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Failed, "destination failed");

        // The failure is reported just after the status turns failed (IncomingMigration.Fail), on the load thread.
        WaitFor(() => dst.IncomingError != null, "destination's failure report");
        Assert.NotNull(dst.IncomingError);
        Assert.Equal(0, dst.Machine.StartCount);

        Side dst2 = NewSide(16 << 20);
        string sock2 = Path.Combine(_dir, "second.sock");
        dst2.Mig.StartIncoming($"unix:{sock2}");
        src.Mig.SetParameters(new JsonObject { ["max-bandwidth"] = 0 });
        src.Mig.StartOutgoing($"unix:{sock2}");
        WaitFor(() => src.Mig.Status == MigrationStatus.Completed, "second migration completed");
        WaitFor(() => dst2.Mig.IncomingStatus == MigrationStatus.Completed, "second destination completed");
        AssertSameRam(src.Machine, dst2.Machine);
    }

    [Fact]
    public void ADestinationThatDiesLeavesTheSourceRunningAndFailed()
    {
        Side src = NewSide(16 << 20);
        FillPages(src.Machine, 4096);
        src.Mig.SetParameters(new JsonObject { ["max-bandwidth"] = 1 << 20 });
        string sock = Path.Combine(_dir, "dies.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(sock));
        listener.Listen(1);
        src.Mig.StartOutgoing($"unix:{sock}");
        using (Socket peer = listener.Accept())
        {
            byte[] buf = new byte[65536];
            int got = 0;
            while (got < 300_000)
            {
                got += peer.Receive(buf);
            }
        }

        WaitFor(() => src.Mig.Status == MigrationStatus.Failed, "failed");
        Assert.Equal(RunState.Running, src.Machine.RunState);
        JsonObject q = src.Mig.QueryMigrate();
        Assert.StartsWith("stream: write failed", (string)q["error-desc"]!);
        Assert.Equal(2, q.Count);
    }

    [Fact]
    public void ACorruptStreamFailsTheDestinationWithOneLine()
    {
        Side dst = NewSide();
        string sock = Path.Combine(_dir, "corrupt.sock");
        dst.Mig.StartIncoming($"unix:{sock}");
        using (var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            s.Connect(new UnixDomainSocketEndPoint(sock));
            s.Send("QEVN\0\0\0\u0003"u8.ToArray());
        }

        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Failed && dst.IncomingError != null, "failed");
        Assert.Equal("savevm: wrong magic 0x5145564e at stream offset 0x0, expected 0x5145564d (QEVM)", dst.IncomingError);
        Assert.Equal(RunState.InMigrate, dst.Machine.RunState);
        Assert.Equal(["setup", "active", "failed"], dst.Statuses);
        Assert.Equal(dst.IncomingError, (string)dst.Mig.QueryMigrate()["error-desc"]!);
    }

    [Fact]
    public void PauseBeforeSwitchoverWaitsForContinue()
    {
        Side src = NewSide(), dst = NewSide();
        FillPages(src.Machine, 5);
        src.Mig.SetCapabilities([("pause-before-switchover", true)]);
        string sock = Path.Combine(_dir, "pause.sock");
        dst.Mig.StartIncoming($"unix:{sock}");
        src.Mig.StartOutgoing($"unix:{sock}");
        WaitFor(() => src.Mig.Status == MigrationStatus.PreSwitchover, "pre-switchover");
        Assert.Equal(RunState.FinishMigrate, src.Machine.RunState);
        Assert.Equal("Migration not in expected state: pre-switchover", Assert.Throws<MigrationException>(() => src.Mig.Continue("active")).Message);
        src.Mig.Continue("pre-switchover");
        WaitFor(() => src.Mig.Status == MigrationStatus.Completed, "completed");
        Assert.Equal(["setup", "active", "pre-switchover", "device", "completed"], src.Statuses);
        WaitFor(() => dst.Mig.IncomingStatus == MigrationStatus.Completed, "destination completed");
    }

    [Fact]
    public void CancelInPreSwitchoverRestartsTheSource()
    {
        Side src = NewSide();
        src.Mig.SetCapabilities([("pause-before-switchover", true)]);
        string file = Path.Combine(_dir, "x.bin");
        src.Mig.StartOutgoing($"file:{file}");
        WaitFor(() => src.Mig.Status == MigrationStatus.PreSwitchover, "pre-switchover");
        src.Mig.Cancel();
        WaitFor(() => src.Mig.Status == MigrationStatus.Cancelled, "cancelled");
        Assert.Equal(RunState.Running, src.Machine.RunState);
        Assert.Equal(1, src.Machine.StartCount);
    }

    [Fact]
    public void CommandPreconditions()
    {
        Side src = NewSide();
        Assert.Equal("Parameter 'uri' expects a valid migration protocol",
            Assert.Throws<MigrationException>(() => src.Mig.StartOutgoing("exec:cat")).Message);
        Assert.Equal(MigrationStatus.Failed, src.Mig.Status);
        Assert.Equal(["setup", "failed"], src.Statuses);
        Assert.Equal("For use with '-incoming defer'", Assert.Throws<MigrationException>(() => src.Mig.MigrateIncoming("unix:/x")).Message);
        Assert.Equal("unknown migration protocol 'rdma' (tcp:HOST:PORT, unix:PATH, file:PATH or defer)", Assert.Throws<MigrationException>(() => src.Mig.StartIncoming("rdma:1")).Message);
        Assert.Equal("Parameter 'capability' does not accept value 'bogus'",
            Assert.Throws<MigrationException>(() => src.Mig.SetCapabilities([("bogus", true)])).Message);

        Side dst = NewSide();
        dst.Mig.StartIncoming("defer");
        Assert.Equal(RunState.InMigrate, dst.Machine.RunState);
        Assert.Equal("Guest is waiting for an incoming migration", Assert.Throws<MigrationException>(() => dst.Mig.StartOutgoing("unix:/x")).Message);
        Assert.Equal("Incoming migration already deferred", Assert.Throws<MigrationException>(() => dst.Mig.StartIncoming("defer")).Message);
        Assert.Empty(dst.Mig.QueryMigrate());
        dst.Mig.MigrateIncoming($"unix:{Path.Combine(_dir, "deferred.sock")}");
        Assert.Equal("The incoming migration has already been started",
            Assert.Throws<MigrationException>(() => dst.Mig.MigrateIncoming("unix:/y")).Message);
        Assert.Equal("setup", (string)dst.Mig.QueryMigrate()["status"]!);
    }

    [Fact]
    public void ConnectFailureFailsTheMigration()
    {
        Side src = NewSide();
        src.Mig.StartOutgoing($"unix:{Path.Combine(_dir, "nobody.sock")}");
        WaitFor(() => src.Mig.Status == MigrationStatus.Failed, "failed");
        Assert.Equal(RunState.Running, src.Machine.RunState);
        Assert.Equal(0, src.Machine.StartCount);
    }

    [Fact]
    public void QueryCapabilitiesListsEveryCapability()
    {
        Side src = NewSide();
        src.Mig.SetCapabilities([("auto-converge", true), ("events", true)]);
        JsonArray caps = src.Mig.QueryCapabilities();
        Assert.Equal(MigrationCapabilityNames.All, caps.Select(c => (string)c!["capability"]!));
        Assert.True((bool)caps.First(c => (string)c!["capability"]! == "auto-converge")!["state"]!);
        Assert.False((bool)caps.First(c => (string)c!["capability"]! == "pause-before-switchover")!["state"]!);
    }
}
