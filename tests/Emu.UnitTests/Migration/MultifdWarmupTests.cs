using Emu.Migration.Multifd;

namespace Emu.UnitTests.Migration;

public class MultifdWarmupTests
{
    [Fact]
    public void WarmsTheChannelPathAndRunsAPacketThroughEveryCompression()
    {
        // Every method of the eleven channel types, and a zstd and a zlib round trip that must not throw.
        Assert.True(MultifdWarmup.Warm() > 100);
    }
}
