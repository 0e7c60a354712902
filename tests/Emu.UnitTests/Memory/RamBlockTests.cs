using Emu.Machine.Memory;

namespace Emu.UnitTests.Memory;

public sealed class RamBlockTests
{
    [Fact]
    public void FreshMemoryReadsZeroAndPagesAreWindows()
    {
        using var block = new RamBlock("pc.ram", 16 * RamBlock.PageSize);
        Assert.Equal(16, block.PageCount);
        Assert.True(block.Page(15).IndexOfAnyExcept((byte)0) < 0);
        block.Write(RamBlock.PageSize + 4, [9, 8]);
        Assert.Equal(9, block.Page(1)[4]);
        Assert.Equal(8, block.Slice(RamBlock.PageSize + 5, 1)[0]);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(4095UL)]
    [InlineData(4097UL)]
    public void SizeMustBeWholePages(ulong size)
    {
        var e = Assert.Throws<ArgumentException>(() => new RamBlock("pc.ram", size));
        Assert.Contains("'pc.ram'", e.Message);
    }

    [Fact]
    public void AccessPastTheEndIsRefusedWithTheBlockName()
    {
        using var block = new RamBlock("vga.vram", 2 * RamBlock.PageSize);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => block.Page(2));
        Assert.Contains("vga.vram", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => block.Slice(2 * RamBlock.PageSize - 1, 2));
    }

    [Fact]
    public void MissingPageWaitsForTheFaultHandlerBeforeAccess()
    {
        using var block = new RamBlock("pc.ram", 4 * RamBlock.PageSize);
        var received = new ReceivedBitmap(block.PageCount);
        var handler = new PlacingHandler(received);
        block.Received = received;
        block.PageFaultHandler = handler;
        var space = new AddressSpace();
        space.AddRam("ram", 0, block, 0, block.SizeBytes);

        Assert.Equal(0x5A, space.ReadU8(RamBlock.PageSize * 3));
        Assert.Equal([3], handler.Requests);
        Assert.Equal(0x5A, space.ReadU8(RamBlock.PageSize * 3 + 1));
        Assert.Equal([3], handler.Requests);
    }

    private sealed class PlacingHandler(ReceivedBitmap received) : IPageFaultHandler
    {
        public List<int> Requests { get; } = [];

        public void WaitForPage(RamBlock block, int pageIndex)
        {
            Requests.Add(pageIndex);
            block.Page(pageIndex).Fill(0x5A);
            received.MarkReceived(pageIndex);
        }
    }
}
