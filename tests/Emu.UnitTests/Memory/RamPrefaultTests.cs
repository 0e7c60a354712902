using Emu.Machine.Memory;

namespace Emu.UnitTests.Memory;

public class RamPrefaultTests
{
    [Fact]
    public void PopulateBacksThePagesAndChangesNoByte()
    {
        using var block = new RamBlock("pc.ram", 64 * RamBlock.PageSize);
        block.Page(5).Fill(0x5A);
        Assert.True(block.Populate(8, 16));
        ulong[]? map = HostPageMap.UnpopulatedPages(block);
        Assert.NotNull(map);
        for (int p = 0; p < block.PageCount; p++)
        {
            Assert.Equal(p is not (5 or (>= 8 and < 24)), HostPageMap.IsSet(map, p));
        }

        Assert.All(block.Page(5).ToArray(), b => Assert.Equal(0x5A, b));
        Assert.All(block.Slice(8UL * RamBlock.PageSize, 16 * RamBlock.PageSize).ToArray(), b => Assert.Equal(0, b));
        Assert.Throws<ArgumentOutOfRangeException>(() => block.Populate(60, 5));
    }

    [Fact]
    public void TheBackgroundPrefaultBacksEveryBlockAndKeepsWhatWasWritten()
    {
        using var ram = new RamBlock("pc.ram", 6UL << 20);
        using var rom = new RamBlock("pc.rom", 16 * RamBlock.PageSize);
        ram.Page(700).Fill(0xC3);
        using (var prefault = RamPrefault.Start([ram, rom]))
        {
            Assert.True(SpinWait.SpinUntil(() => prefault.Finished, TimeSpan.FromSeconds(30)));
        }

        foreach (RamBlock b in new[] { ram, rom })
        {
            ulong[]? map = HostPageMap.UnpopulatedPages(b);
            Assert.NotNull(map);
            Assert.All(map, word => Assert.Equal(0UL, word));
        }

        Assert.All(ram.Page(700).ToArray(), b => Assert.Equal(0xC3, b));
        Assert.Equal(0, ram.Page(701)[0]);
    }

    [Fact]
    public void PreallocateBacksTheWholeBlock()
    {
        using var block = new RamBlock("pc.ram", 4UL << 20);
        block.Preallocate();
        ulong[]? map = HostPageMap.UnpopulatedPages(block);
        Assert.NotNull(map);
        Assert.All(map, word => Assert.Equal(0UL, word));
    }

    [Fact]
    public void TheHostAffordsASmallGuestButNotOneBeyondItsAvailableMemory()
    {
        Assert.True(RamPrefault.HostCanAfford(1UL << 20));
        Assert.False(RamPrefault.HostCanAfford(1UL << 50));
    }
}
