using Emu.Machine.Memory;

namespace Emu.UnitTests.Memory;

public class HostPageMapTests
{
    [Fact]
    public void FreshPagesAreUnpopulatedAndWrittenOnesAreNot()
    {
        using var block = new RamBlock("pc.ram", 64 * RamBlock.PageSize);
        block.Page(3)[0] = 1;
        block.Page(40).Fill(0xAB);
        ulong[]? map = HostPageMap.UnpopulatedPages(block);
        Assert.NotNull(map);
        for (int p = 0; p < block.PageCount; p++)
        {
            Assert.Equal(p is not (3 or 40), HostPageMap.IsSet(map, p));
        }

        HostPageMap.Clear(map, 7);
        Assert.False(HostPageMap.IsSet(map, 7));
        Assert.False(HostPageMap.IsSet(null, 7));
    }

    [Fact]
    public unsafe void GuestRamOfAHugePageOrMoreIsAlignedForHugePages()
    {
        // The kernel can back only a 2 MiB-aligned range with a transparent huge page.
        using var block = new RamBlock("pc.ram", 8UL << 20);
        Assert.Equal(0UL, (ulong)block.HostPointer % (2UL << 20));
        block.Page(block.PageCount - 1)[0] = 7;
        Assert.Equal(7, block.Page(block.PageCount - 1)[0]);
    }
}
