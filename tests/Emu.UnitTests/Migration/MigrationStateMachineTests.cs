using Emu.Migration.Precopy;

namespace Emu.UnitTests.Migration;

public class MigrationStateMachineTests
{
    [Fact]
    public void PrecopyPathEmitsEachStatus()
    {
        var seen = new List<string>();
        var sm = new MigrationStateMachine(s => seen.Add(s.ToQmp()));
        Assert.True(sm.TrySet(MigrationStatus.None, MigrationStatus.Setup));
        Assert.True(sm.TrySet(MigrationStatus.Setup, MigrationStatus.Active));
        Assert.True(sm.TrySet(MigrationStatus.Active, MigrationStatus.PreSwitchover));
        Assert.True(sm.TrySet(MigrationStatus.PreSwitchover, MigrationStatus.Device));
        Assert.True(sm.TrySet(MigrationStatus.Device, MigrationStatus.Completed));
        Assert.True(sm.TrySet(MigrationStatus.Completed, MigrationStatus.None));
        Assert.Equal(["setup", "active", "pre-switchover", "device", "completed"], seen);
    }

    [Fact]
    public void ACompletionRacingACancelLoses()
    {
        var sm = new MigrationStateMachine();
        sm.TrySet(MigrationStatus.None, MigrationStatus.Setup);
        sm.TrySet(MigrationStatus.Setup, MigrationStatus.Active);
        Assert.True(sm.TrySet(MigrationStatus.Active, MigrationStatus.Cancelling));
        Assert.False(sm.TrySet(MigrationStatus.Active, MigrationStatus.Completed));
        Assert.Equal(MigrationStatus.Cancelling, sm.Current);
        Assert.True(sm.TrySet(MigrationStatus.Cancelling, MigrationStatus.Cancelled));
    }

    [Theory]
    [InlineData(MigrationStatus.None, MigrationStatus.Active)]
    [InlineData(MigrationStatus.Setup, MigrationStatus.Completed)]
    [InlineData(MigrationStatus.Completed, MigrationStatus.Failed)]
    [InlineData(MigrationStatus.Cancelled, MigrationStatus.Active)]
    [InlineData(MigrationStatus.Cancelling, MigrationStatus.Completed)]
    [InlineData(MigrationStatus.Failed, MigrationStatus.Completed)]
    [InlineData(MigrationStatus.PostcopyActive, MigrationStatus.Cancelling)]
    [InlineData(MigrationStatus.PostcopyPaused, MigrationStatus.Cancelling)]
    [InlineData(MigrationStatus.PostcopyRecover, MigrationStatus.Cancelling)]
    public void IllegalTransitionsAreRejected(MigrationStatus from, MigrationStatus to)
    {
        Assert.False(MigrationStateMachine.IsLegal(from, to));
        var e = Assert.Throws<InvalidOperationException>(() => new MigrationStateMachine().TrySet(from, to));
        Assert.Equal($"migration: illegal status transition {from.ToQmp()} -> {to.ToQmp()}", e.Message);
    }

    [Fact]
    public void StatusNamesAreQemus()
    {
        string[] expected = ["none", "setup", "cancelling", "cancelled", "active", "postcopy-active", "postcopy-paused",
            "postcopy-recover", "completed", "failed", "pre-switchover", "device"];
        Assert.Equal(expected, Enum.GetValues<MigrationStatus>().Select(s => s.ToQmp()));
    }

    [Fact]
    public void ACancelDuringTheActiveReportIsReportedAfterIt()
    {
        // A cancel that lands while the migration thread reports active (the QMP thread against the migration
        // thread): clients must see active, then cancelling, never the reverse (seen in CI once setup got fast).
        var seen = new System.Collections.Concurrent.ConcurrentQueue<MigrationStatus>();
        MigrationStateMachine? sm = null;
        Thread? canceller = null;
        sm = new MigrationStateMachine(s =>
        {
            if (s == MigrationStatus.Active)
            {
                canceller = new Thread(() => sm!.TrySet(MigrationStatus.Active, MigrationStatus.Cancelling));
                canceller.Start();
                canceller.Join(200);
            }

            seen.Enqueue(s);
        });
        Assert.True(sm.TrySet(MigrationStatus.None, MigrationStatus.Setup));
        Assert.True(sm.TrySet(MigrationStatus.Setup, MigrationStatus.Active));
        canceller!.Join();
        Assert.Equal([MigrationStatus.Setup, MigrationStatus.Active, MigrationStatus.Cancelling], seen);
    }
}
