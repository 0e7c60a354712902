using Emu.Machine.Memory;

namespace Emu.UnitTests.Memory;

public class ReceivedBitmapTests
{
    [Fact]
    public void AllExceptMarksEveryPageButTheMissingOnesAndNothingPastTheEnd()
    {
        ulong[] missing = new ulong[2];
        missing[0] = 1UL << 3;
        missing[1] = 1UL << (70 - 64);
        var r = ReceivedBitmap.AllExcept(100, missing);
        Assert.Equal(98, r.CountReceived());
        Assert.False(r.IsReceived(3));
        Assert.False(r.IsReceived(70));
        Assert.True(r.IsReceived(0));
        Assert.True(r.IsReceived(99));
        Assert.Equal(100, ReceivedBitmap.AllExcept(100, null).CountReceived());
        Assert.True(r.MarkReceived(70));
        Assert.False(r.MarkReceived(70));
    }
}
