using Emu.Machine.Memory;
using Emu.Migration.Ram;

namespace Emu.UnitTests.Migration;

public class PageCopyTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(13)]
    public void StreamingCopyPlacesEveryByteFromAnyAlignedOrUnalignedSource(int sourceOffset)
    {
        byte[] source = new byte[RamBlock.PageSize + 64];
        for (int i = 0; i < source.Length; i++)
        {
            source[i] = (byte)(i * 31 + 5);
        }

        using var ram = new RamBlock("pc.ram", 2 * RamBlock.PageSize);
        ram.Page(1).Fill(0xCC);
        PageCopy.Streaming(source.AsSpan(sourceOffset, RamBlock.PageSize), ram.Page(1));
        PageCopy.Fence();
        Assert.True(ram.Page(1).SequenceEqual(source.AsSpan(sourceOffset, RamBlock.PageSize)));
        Assert.True(ram.Page(0).IndexOfAnyExcept((byte)0) < 0, "nothing outside the page is written");
    }

    [Fact]
    public void StreamingCopyRefusesAnythingButOnePage()
    {
        byte[] small = new byte[100];
        byte[] page = new byte[RamBlock.PageSize];
        Assert.Throws<ArgumentException>(() => PageCopy.Streaming(small, page));
        Assert.Throws<ArgumentException>(() => PageCopy.Streaming(page, small));
    }
}
