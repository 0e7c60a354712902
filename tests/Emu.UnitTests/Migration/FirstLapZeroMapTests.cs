using Emu.Machine.Memory;
using Emu.Migration.Ram;

namespace Emu.UnitTests.Migration;

public class FirstLapZeroMapTests
{
    [Fact]
    public void AChunkIsAskedAboutWhenTheScanFirstReachesIt()
    {
        // Two chunks: the second is read only when asked about, so a page written before that reads as populated.
        // Pages compared are a huge page (512 pages) apart: the host populates guest RAM 2 MiB at a time.
        const int Apart = 600;
        using var block = new RamBlock("pc.ram", 2L * HostPageMap.EntriesPerRead * RamBlock.PageSize);
        block.Page(5)[0] = 1;
        using FirstLapZeroMap? map = FirstLapZeroMap.Open([block]);
        Assert.NotNull(map);

        Assert.False(map.IsUnpopulated(0, 5));
        Assert.True(map.IsUnpopulated(0, 5 + Apart));
        int later = HostPageMap.EntriesPerRead + 9;
        block.Page(later)[0] = 1;
        Assert.False(map.IsUnpopulated(0, later));
        Assert.True(map.IsUnpopulated(0, later + Apart));

        // A chunk already read keeps its answer: the write is the dirty log's business, not the map's.
        block.Page(5 + Apart)[0] = 1;
        Assert.True(map.IsUnpopulated(0, 5 + Apart));
    }

    [Fact]
    public void AnEndedMapCallsNoPageUnpopulated()
    {
        using var block = new RamBlock("pc.ram", 16 * RamBlock.PageSize);
        FirstLapZeroMap map = FirstLapZeroMap.Open([block])!;
        Assert.True(map.IsUnpopulated(0, 1));
        map.Dispose();
        Assert.False(map.IsUnpopulated(0, 2));
    }
}
