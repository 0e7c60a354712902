using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.UnitTests.Migration;

public class RamLoaderTests
{
    internal static FakeMachine Machine() => new(("pc.ram", 8 * 4096), ("rom", 2 * 4096));

    internal static string Refusal(Action<MigrationStream> records, out long recordsAt)
    {
        using var m = Machine();
        long at = 0;
        byte[] bytes = TestStreams.RamSection(m, s =>
        {
            at = s.Position;
            records(s);
        });
        recordsAt = at;
        using var dst = Machine();
        dst.RamBlocks[0].Page(7).Fill(0x77);
        var e = Assert.Throws<MigrationStreamException>(() => TestStreams.Load(dst, bytes));
        Assert.All(dst.RamBlocks[0].Page(7).ToArray(), b => Assert.Equal(0x77, b));
        return e.Message;
    }

    private static void Page(MigrationStream s, ulong word, string? idStr, byte fill)
    {
        s.WriteU64(word);
        if (idStr != null)
        {
            SaveVmWriter.WriteIdStr(s, idStr);
        }

        s.GetSpan(4096).Fill(fill);
        s.Advance(4096);
    }

    [Fact]
    public void ContinueBeforeAnyBlock()
    {
        string msg = Refusal(s => Page(s, 0x1000 | 0x08 | 0x20, null, 1), out long at);
        Assert.Equal($"ram: Ack, bad migration stream! CONTINUE with no previous block at stream offset 0x{at:x}", msg);
    }

    [Fact]
    public void UnknownBlock()
    {
        string msg = Refusal(s => Page(s, 0x08, "pc.rom", 1), out long at);
        Assert.Equal($"ram: can't find block 'pc.rom' at stream offset 0x{at:x}", msg);
    }

    [Fact]
    public void OffsetPastTheBlock()
    {
        string msg = Refusal(s =>
        {
            Page(s, 0x1000 | 0x08, "rom", 1);
            Page(s, 0x2000 | 0x08 | 0x20, null, 1);
        }, out long at);
        Assert.Equal($"ram: illegal RAM offset 0x2000 in 'rom' at stream offset 0x{at + 8 + 4 + 4096:x}, block is 0x2000 bytes", msg);
    }

    [Fact]
    public void HugeOffsetIsRefusedBeforeAnyWrite()
    {
        string msg = Refusal(s => Page(s, 0xFFFF_FFFF_FFFF_F000 | 0x08, "pc.ram", 1), out long at);
        Assert.Equal($"ram: illegal RAM offset 0xfffffffffffff000 in 'pc.ram' at stream offset 0x{at:x}, block is 0x8000 bytes", msg);
    }

    [Fact]
    public void UnknownFlagCombination()
    {
        string msg = Refusal(s => s.WriteU64(0x40 | 0x08), out long at);
        Assert.Equal($"ram: unknown combination of migration flags 0x48 at stream offset 0x{at:x}", msg);
    }

    [Fact]
    public void NonZeroFillOfAZeroPage()
    {
        string msg = Refusal(s =>
        {
            s.WriteU64(0x7000 | 0x02);
            SaveVmWriter.WriteIdStr(s, "pc.ram");
            s.WriteU8(0x77);
        }, out long at);
        Assert.Equal($"ram: found a zero page with value 119 at stream offset 0x{at:x}, expected 0", msg);
    }

    [Fact]
    public void BlockLengthMismatch()
    {
        using var src = new FakeMachine(("pc.ram", 16 * 4096), ("rom", 2 * 4096));
        byte[] bytes = TestStreams.RamSection(src, _ => { });
        using var dst = Machine();
        var e = Assert.Throws<MigrationStreamException>(() => TestStreams.Load(dst, bytes));
        Assert.Equal("ram: RAMBlock 'pc.ram' length 0x10000 at stream offset 0x2c differs from the local 0x8000", e.Message);
    }

    [Fact]
    public void UnknownBlockInTheBlockList()
    {
        using var src = new FakeMachine(("pc.ram", 8 * 4096), ("vga.vram", 2 * 4096));
        byte[] bytes = TestStreams.RamSection(src, _ => { });
        using var dst = Machine();
        var e = Assert.Throws<MigrationStreamException>(() => TestStreams.Load(dst, bytes));
        Assert.Equal("ram: unknown RAMBlock 'vga.vram' at stream offset 0x3b, cannot accept migration", e.Message);
    }

    [Fact]
    public void RamSectionVersionMustBeFour()
    {
        using var m = Machine();
        byte[] bytes = TestStreams.RamSection(m, _ => { });
        bytes[35] = 5;
        using var dst = Machine();
        var e = Assert.Throws<MigrationStreamException>(() => TestStreams.Load(dst, bytes));
        Assert.Equal("savevm: section 'ram' version 5 at stream offset 0x13 is not supported, expected 4", e.Message);
    }

    [Fact]
    public void ZeroPageClearsOnlyANonZeroPage()
    {
        using var m = Machine();
        byte[] bytes = TestStreams.RamSection(m, s =>
        {
            s.WriteU64(0x3000 | 0x02);
            SaveVmWriter.WriteIdStr(s, "pc.ram");
            s.WriteU8(0);
            s.WriteU64(0x4000 | 0x02 | 0x20);
            s.WriteU8(0);
        });
        using var dst = Machine();
        dst.RamBlocks[0].Page(3).Fill(5);
        var loader = new RamLoader(dst.RamBlocks);
        var r = MigrationStream.ForReading(new MemoryStream(bytes));
        dst.RamBlocks[0].DirtyLog.Enable(Emu.Machine.Memory.DirtyClient.Vga, allDirty: false);
        new VmStateLoader([], [loader]).Load(r);
        Assert.True(ZeroPage.IsZero(dst.RamBlocks[0].Page(3)));
        Assert.True(dst.RamBlocks[0].DirtyLog.IsDirty(Emu.Machine.Memory.DirtyClient.Vga, 3));
        Assert.False(dst.RamBlocks[0].DirtyLog.IsDirty(Emu.Machine.Memory.DirtyClient.Vga, 4));
        Assert.Equal(2, loader.PagesLoaded);
    }

    [Fact]
    public void AZeroPageForANeverPopulatedPageLeavesItUntouchedButOneAfterDataClearsIt()
    {
        using var m = Machine();
        byte[] bytes = TestStreams.RamSection(m, s =>
        {
            s.WriteU64(0x2000 | 0x02);
            SaveVmWriter.WriteIdStr(s, "pc.ram");
            s.WriteU8(0);
            Page(s, 0x5000 | 0x08 | 0x20, null, 0x66);
            s.WriteU64(0x5000 | 0x02 | 0x20);
            s.WriteU8(0);
        });
        using var dst = Machine();
        var loader = new RamLoader(dst.RamBlocks);
        new VmStateLoader([], [loader]).Load(MigrationStream.ForReading(new MemoryStream(bytes)));

        // Page 2 was never populated: the zero record costs no fault and the host still has no page there.
        Emu.Machine.Memory.RamBlock ram = dst.RamBlocks[0];
        Assert.True(Emu.Machine.Memory.HostPageMap.IsSet(Emu.Machine.Memory.HostPageMap.UnpopulatedPages(ram), 2));

        // Page 5 got data, then a zero record: it must really be cleared.
        Assert.True(ZeroPage.IsZero(ram.Page(5)));
        Assert.Equal(3, loader.PagesLoaded);
    }
}
