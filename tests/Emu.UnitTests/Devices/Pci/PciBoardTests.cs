using Emu.Machine.Devices.Pci;
using Emu.Machine.Devices.Pic;
using Emu.Machine.Io;
using Emu.Machine.Memory;

namespace Emu.UnitTests.Devices.Pci;

/// <summary>Configuration mechanism #1, BAR sizing, the 440FX's PAM shadowing and the PIIX3's PIRQ routing.</summary>
public sealed class PciBoardTests : IDisposable
{
    private readonly IoBus _io = new();
    private readonly AddressSpace _memory = new();
    private readonly RamBlock _ram = new("pc.ram", 2 << 20);
    private readonly RamBlock _rom = new("pc.bios", 0x20000);
    private readonly PicPair _pic = new();
    private readonly PciHost _host = new();
    private readonly I440fxHostBridge _bridge;
    private readonly Piix3IsaBridge _isa;
    private ulong? _framebuffer;

    public PciBoardTests()
    {
        _memory.AddRam("ram", 0, _ram, 0, _ram.SizeBytes);
        _memory.AddRam("isa-bios", 0xE0000, _rom, 0, 0x20000, readOnly: true, priority: 2);
        _rom.Write(0x10000, [0xEA, 0x5B, 0xE0]); // what the ROM holds at 0xF0000
        _pic.Register(_io);
        _host.Register(_io);
        _bridge = new I440fxHostBridge(_memory, _ram, (gpa, size) => gpa >= 0xE0000 ? _rom.Slice(gpa - 0xE0000, size)[0] : 0UL);
        _isa = new Piix3IsaBridge(_pic);
        _host.Add(_bridge);
        _host.Add(_isa);
        _host.Add(new VgaPciFunction(16 << 20, 0xE000_0000, a => _framebuffer = a, _memory, null));
        _host.Reset();
    }

    private uint Read(int dev, int fn, int reg, int size = 4)
    {
        _io.Write(0xCF8, 4, 0x8000_0000u | (uint)(dev << 11) | (uint)(fn << 8) | (uint)(reg & 0xFC));
        return _io.Read((ushort)(0xCFC + (reg & 3)), size);
    }

    private void Write(int dev, int fn, int reg, uint value, int size = 4)
    {
        _io.Write(0xCF8, 4, 0x8000_0000u | (uint)(dev << 11) | (uint)(fn << 8) | (uint)(reg & 0xFC));
        _io.Write((ushort)(0xCFC + (reg & 3)), size, value);
    }

    [Fact]
    public void FunctionsAnswerWithTheirIdsAndAbsentOnesReadAllOnes()
    {
        Assert.Equal(0x1237_8086u, Read(0, 0, 0));
        Assert.Equal(0x7000_8086u, Read(1, 0, 0));
        Assert.Equal(0x80u, Read(1, 0, 0x0E, 1));          // multi-function header
        Assert.Equal(0x1111_1234u, Read(2, 0, 0));
        Assert.Equal(0xFFFF_FFFFu, Read(5, 0, 0));
        Assert.Equal(0xFFFFu, Read(1, 3, 2, 2));
        Assert.Equal(0x0600_0002u, Read(0, 0, 8));          // host bridge class, revision 2
    }

    [Fact]
    public void TheAddressRegisterReadsBackAndNeedsItsEnableBit()
    {
        _io.Write(0xCF8, 4, 0x8000_1004);
        Assert.Equal(0x8000_1004u, _io.Read(0xCF8, 4));
        _io.Write(0xCF8, 4, 0x0000_0000);                   // enable bit clear: no configuration cycle
        Assert.Equal(0xFFFF_FFFFu, _io.Read(0xCFC, 4));
    }

    [Fact]
    public void IdsAreReadOnly()
    {
        Write(0, 0, 0, 0);
        Assert.Equal(0x1237_8086u, Read(0, 0, 0));
    }

    [Fact]
    public void BarSizingReadsTheSizeMaskAndMovingItMovesTheFramebuffer()
    {
        Assert.Equal(0xE000_0000ul, _framebuffer);
        Write(2, 0, 0x10, 0xFFFF_FFFF);
        Assert.Equal(0xFF00_0008u, Read(2, 0, 0x10));       // 16 MiB, prefetchable memory
        Assert.Null(_framebuffer);                          // the sizing pattern is not an address
        Write(2, 0, 0x10, 0xFD00_0000);
        Assert.Equal(0xFD00_0008u, Read(2, 0, 0x10));
        Assert.Equal(0xFD00_0000ul, _framebuffer);
        Write(2, 0, 0x04, 0, 2);                             // memory decode off
        Assert.Null(_framebuffer);
    }

    [Fact]
    public void PamOffShowsTheRomAndReadWriteShadowsItInRam()
    {
        Assert.Equal(0xEA, _memory.ReadU8(0xF0000));         // reset: the ROM
        Write(0, 0, 0x59, 0x30, 1);                          // F segment: read/write DRAM
        Assert.Equal(0, _memory.ReadU8(0xF0000));            // RAM, empty
        _memory.WriteU8(0xF0000, 0x42);
        Assert.Equal(0x42, _memory.ReadU8(0xF0000));
        Write(0, 0, 0x59, 0x10, 1);                          // read-only: writes are dropped
        _memory.WriteU8(0xF0000, 0x99);
        Assert.Equal(0x42, _memory.ReadU8(0xF0000));
        Write(0, 0, 0x59, 0x00, 1);
        Assert.Equal(0xEA, _memory.ReadU8(0xF0000));
        Assert.Equal(0x42, _ram.Slice(0xF0000, 1)[0]);       // the shadow stays in DRAM beneath
    }

    [Fact]
    public void PamWriteOnlyReadsTheRomAndWritesDram()
    {
        Write(0, 0, 0x59, 0x20, 1);
        Assert.Equal(0xEA, _memory.ReadU8(0xF0000));
        _memory.WriteU8(0xF0000, 0x77);
        Assert.Equal(0xEA, _memory.ReadU8(0xF0000));
        Assert.Equal(0x77, _ram.Slice(0xF0000, 1)[0]);
    }

    [Fact]
    public void EachPamNibbleControlsItsOwn16KiBSegment()
    {
        Write(0, 0, 0x5A, 0x30, 1);                          // PAM1 high nibble: 0xC4000-0xC7FFF
        Assert.Equal(PamMode.ReadWrite, _bridge.PamMode(0xC4000));
        Assert.Equal(PamMode.Off, _bridge.PamMode(0xC0000));
        Assert.Equal(0x30u, Read(0, 0, 0x5A, 1));
        Write(0, 0, 0x59, 0xFF, 1);                          // PAM0's low nibble is reserved
        Assert.Equal(0x30u, Read(0, 0, 0x59, 1));
    }

    [Fact]
    public void PirqRoutesToTheIrqItsRegisterNames()
    {
        PicProgramming.Init(_io, 0x20, 0x08, 0x04);
        PicProgramming.Init(_io, 0xA0, 0x70, 0x02);
        _io.Write(0x21, 1, 0xFB);
        _io.Write(0xA1, 1, 0x00);
        Assert.Equal(0x80u, Read(1, 0, 0x60, 1));            // reset: not routed
        _isa.SetPirq(0, true);
        Assert.False(_pic.HasPendingInterrupt);
        Write(1, 0, 0x60, 11, 1);                            // PIRQA → IRQ 11
        Assert.Equal(11, _isa.RouteOf(0));
        Assert.True(_pic.HasPendingInterrupt);
        Assert.Equal(0x73, _pic.AcknowledgeInterrupt());
    }

    /// <summary>
    /// Found by the stream fuzzer (issue 15): a VGA BAR0 with its read-only low bits set (0x22657a60) came from the
    /// wire and the framebuffer move threw. A saved config whose read-only bits differ is refused, as QEMU's
    /// get_pci_config_device, and the function keeps its state; one differing only in writable bits loads.
    /// </summary>
    [Fact]
    public void SavedConfigWhoseReadOnlyBitsDifferIsRefusedAndNothingChanges()
    {
        var vga = (VgaPciFunction)_host.Find(2, 0)!;
        PciFunctionState saved = vga.Save();
        byte[] bad = saved.Config.ToArray();
        bad[PciConfigSpace.Bar0] = 0x60;
        bad[PciConfigSpace.Bar0 + 1] = 0x7A;
        bad[PciConfigSpace.Bar0 + 2] = 0x65;
        bad[PciConfigSpace.Bar0 + 3] = 0x22;
        var e = Assert.Throws<Emu.Machine.State.VmStateException>(() => vga.Load(saved with { Config = bad }));
        Assert.Equal("pci: vga-pci config byte 0x10 is 0x60, but its read-only bits 0xff are 0x08 on this device", e.Message);
        Assert.Equal(saved.Config, vga.Save().Config);
        Assert.Equal(0xE000_0000UL, _framebuffer);

        byte[] moved = saved.Config.ToArray();
        moved[PciConfigSpace.Bar0 + 3] = 0x22;
        vga.Load(saved with { Config = moved });
        Assert.Equal(0x2200_0000UL, _framebuffer);
    }

    public void Dispose()
    {
        _ram.Dispose();
        _rom.Dispose();
    }
}
