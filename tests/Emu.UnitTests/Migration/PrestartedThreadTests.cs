using Emu.Migration.Postcopy;
using Xunit;

namespace Emu.UnitTests.Migration;

public sealed class PrestartedThreadTests
{
    [Fact]
    public void WorkRunsOnceOnTheNamedThreadAndItEndsAfterwards()
    {
        var thread = new PrestartedThread("test/prestarted");
        Assert.True(thread.IsAlive);
        string? ranOn = null;
        using var done = new ManualResetEventSlim();
        Assert.True(thread.Run(() =>
        {
            ranOn = Thread.CurrentThread.Name;
            done.Set();
        }));

        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal("test/prestarted", ranOn);
        Assert.False(thread.Run(() => ranOn = "twice"));
        Assert.Equal("test/prestarted", ranOn);
    }

    [Fact]
    public void ACancelledThreadEndsWithoutWorkAndRefusesWorkAfterwards()
    {
        var thread = new PrestartedThread("test/cancelled");
        thread.Cancel();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        bool ran = false;
        Assert.False(thread.Run(() => ran = true));
        Assert.False(ran);
    }

    [Fact]
    public void CancelAfterWorkWasGivenDoesNotStopTheWork()
    {
        var thread = new PrestartedThread("test/late-cancel");
        using var release = new ManualResetEventSlim();
        bool finished = false;
        Assert.True(thread.Run(() =>
        {
            release.Wait();
            finished = true;
        }));
        thread.Cancel();
        release.Set();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
        Assert.True(finished);
    }
}
