using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// Issue 15's ping-pong, short: one guest goes back and forth twice by precopy and twice by postcopy, and after
/// every hop it ran on (no restart) and passes the a-b rule. <c>./run.sh soak</c> does many hops.
/// </summary>
public sealed class PingPongTests
{
    [Fact]
    public void TwoPrecopyThenTwoPostcopyHopsKeepTheGuestRunningAndTheAbRule()
    {
        using PingPong pingPong = PingPong.Start("pingpong", ramMiB: 64);
        var hops = new List<PingPongHop>();
        foreach (bool postcopy in new[] { false, false, true, true })
        {
            hops.Add(pingPong.Hop(postcopy));
        }

        Assert.Equal(["precopy", "precopy", "postcopy", "postcopy"], hops.Select(h => h.Kind));
        Assert.All(hops.Where(h => h.Postcopy), h => Assert.NotNull(h.BlocktimeMs));
    }
}
