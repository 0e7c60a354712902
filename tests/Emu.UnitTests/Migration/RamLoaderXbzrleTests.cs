using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.UnitTests.Migration;

/// <summary>XBZRLE records on the destination (QEMU load_xbzrle): applied in place, malformed ones refused whole.</summary>
public class RamLoaderXbzrleTests
{
    private static void Record(MigrationStream s, ulong offset, byte encoding, int length, string hexDelta)
    {
        s.WriteU64(offset | 0x40);
        SaveVmWriter.WriteIdStr(s, "pc.ram");
        s.WriteU8(encoding);
        s.WriteU16((ushort)length);
        s.WriteBytes(Convert.FromHexString(hexDelta));
    }

    [Fact]
    public void ADeltaIsAppliedToThePreviousVersion()
    {
        using var m = RamLoaderTests.Machine();
        byte[] bytes = TestStreams.RamSection(m, s =>
        {
            Record(s, 0x7000, 0x01, 8, "0a02aabbbc0101cc");
            s.WriteU64(0x6000 | 0x40 | 0x20);
            s.WriteU8(0x01);
            s.WriteU16(3);
            s.WriteBytes([0x00, 0x01, 0x09]);
        });
        using var dst = RamLoaderTests.Machine();
        dst.RamBlocks[0].Page(7).Fill(0x11);
        dst.RamBlocks[0].Page(6).Fill(0x22);
        var loader = new RamLoader(dst.RamBlocks);
        dst.RamBlocks[0].DirtyLog.Enable(Emu.Machine.Memory.DirtyClient.Vga, allDirty: false);
        new VmStateLoader([], [loader]).Load(MigrationStream.ForReading(new MemoryStream(bytes)));

        byte[] expected7 = new byte[4096];
        Array.Fill(expected7, (byte)0x11);
        expected7[10] = 0xAA;
        expected7[11] = 0xBB;
        expected7[200] = 0xCC;
        Assert.Equal(expected7, dst.RamBlocks[0].Page(7).ToArray());
        Assert.Equal(9, dst.RamBlocks[0].Page(6)[0]);
        Assert.Equal(0x22, dst.RamBlocks[0].Page(6)[1]);
        Assert.True(dst.RamBlocks[0].DirtyLog.IsDirty(Emu.Machine.Memory.DirtyClient.Vga, 7));
        Assert.True(dst.RamBlocks[0].DirtyLog.IsDirty(Emu.Machine.Memory.DirtyClient.Vga, 6));
        Assert.Equal(2, loader.PagesLoaded);
    }

    [Fact]
    public void WrongEncodingFlag()
    {
        string msg = RamLoaderTests.Refusal(s => Record(s, 0x7000, 0x02, 3, "000101"), out long at);
        Assert.Equal($"ram: failed to load XBZRLE page at 0x7000 in 'pc.ram' (stream offset 0x{at:x}): wrong compression 0x02, expected 0x01", msg);
    }

    [Fact]
    public void LengthOverAPage()
    {
        string msg = RamLoaderTests.Refusal(s => Record(s, 0x7000, 0x01, 4097, ""), out long at);
        Assert.Equal($"ram: failed to load XBZRLE page at 0x7000 in 'pc.ram' (stream offset 0x{at:x}): len overflow, 4097 bytes, at most 4096", msg);
    }

    [Fact]
    public void MalformedDeltaLeavesThePageUntouched()
    {
        // zrun 4095, then an nzrun of 2 that runs past the page end.
        string msg = RamLoaderTests.Refusal(s => Record(s, 0x7000, 0x01, 5, "ff1f02aabb"), out long at);
        Assert.Equal($"ram: failed to load XBZRLE page at 0x7000 in 'pc.ram' (stream offset 0x{at:x}): decode error in a 5-byte delta", msg);
    }

    [Fact]
    public void OffsetPastTheBlock()
    {
        string msg = RamLoaderTests.Refusal(s => Record(s, 0x9000, 0x01, 3, "000101"), out long at);
        Assert.Equal($"ram: illegal RAM offset 0x9000 in 'pc.ram' at stream offset 0x{at:x}, block is 0x8000 bytes", msg);
    }

    [Fact]
    public void TruncatedDelta()
    {
        string msg = RamLoaderTests.Refusal(s => Record(s, 0x7000, 0x01, 300, "000101"), out _);
        Assert.StartsWith("stream: unexpected end of stream", msg);
    }
}
