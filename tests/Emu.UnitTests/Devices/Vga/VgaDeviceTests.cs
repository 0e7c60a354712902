using Emu.Machine.Devices.Vga;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Emu.Machine.State;

namespace Emu.UnitTests.Devices.Vga;

public sealed unsafe class VgaDeviceTests : IDisposable
{
    private readonly AddressSpace _memory = new();
    private readonly IoBus _io = new();
    private readonly VgaDevice _vga;

    public VgaDeviceTests()
    {
        _vga = new VgaDevice(_memory, _io, 1024 * 1024);
    }

    public void Dispose() => _vga.Dispose();

    private void Out8(ushort port, byte value) => _io.Write(port, 1, value);

    private void Out16(ushort port, ushort value) => _io.Write(port, 2, value);

    private void Seq(int index, byte value) => Out16(0x3C4, (ushort)(index | (value << 8)));

    private void Gc(int index, byte value) => Out16(0x3CE, (ushort)(index | (value << 8)));

    private void Crtc(int index, byte value) => Out16(0x3D4, (ushort)(index | (value << 8)));

    private void Vbe(ushort index, ushort value)
    {
        Out16(VbeDispi.IndexPort, index);
        Out16(VbeDispi.DataPort, value);
    }

    private ushort VbeRead(ushort index)
    {
        Out16(VbeDispi.IndexPort, index);
        return (ushort)_io.Read(VbeDispi.DataPort, 2);
    }

    /// <summary>Switches the registers to mode 13h the way a BIOS does (the values of IBM's mode 13h table).</summary>
    private void SetMode13h()
    {
        Out8(0x3C2, 0x63);
        byte[] seq = [0x03, 0x01, 0x0F, 0x00, 0x0E];
        for (int i = 0; i < seq.Length; i++)
        {
            Seq(i, seq[i]);
        }

        Crtc(0x11, 0x0E);
        byte[] crtc = [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x9C, 0x8E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF];
        for (int i = 0; i < crtc.Length; i++)
        {
            Crtc(i, crtc[i]);
        }

        byte[] gc = [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF];
        for (int i = 0; i < gc.Length; i++)
        {
            Gc(i, gc[i]);
        }

        _io.Read(0x3DA, 1);
        for (int i = 0; i < 16; i++)
        {
            Out8(0x3C0, (byte)i);
            Out8(0x3C0, (byte)i);
        }

        byte[] ar = [0x41, 0x00, 0x0F, 0x00, 0x00];
        for (int i = 0; i < ar.Length; i++)
        {
            Out8(0x3C0, (byte)(0x10 + i));
            Out8(0x3C0, ar[i]);
        }

        Out8(0x3C0, 0x20);
    }

    [Fact]
    public void TextCharactersAndAttributesReadBackAndLandInPlanesZeroAndOne()
    {
        _memory.WriteU16(0xB8000, 0x1F41);
        _memory.WriteU16(0xB8002, 0x2E42);

        Assert.Equal(0x1F41, _memory.ReadU16(0xB8000));
        Assert.Equal(0x2E42, _memory.ReadU16(0xB8002));
        Span<byte> v = _vga.Vram.Slice(0, 8);
        Assert.Equal(new byte[] { 0x41, 0x1F, 0, 0, 0x42, 0x2E, 0, 0 }, v.ToArray());
    }

    [Fact]
    public void TextWindowDoesNotDecodeTheGraphicsWindow()
    {
        _memory.WriteU8(0xA0000, 0x55);
        Assert.Equal((byte)0xFF, _memory.ReadU8(0xA0000));
        Assert.True(_vga.Vram.Slice(0, 0x1000).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void FontWritesThroughMapMaskReachPlaneTwo()
    {
        // What a BIOS does to load the font: planar access to plane 2 at 0xA0000.
        Seq(2, 0x04);
        Seq(4, 0x07);
        Gc(4, 0x02);
        Gc(5, 0x00);
        Gc(6, 0x04);
        _memory.WriteU8(0xA0000 + (0x41 * 32) + 3, 0x7E);

        Assert.Equal(0x7E, _vga.Vram.Slice((((0x41 * 32) + 3) * 4) + 2, 1)[0]);
        Assert.Equal(0, _vga.Vram.Slice(((0x41 * 32) + 3) * 4, 1)[0]);
        Assert.Equal((byte)0x7E, _memory.ReadU8(0xA0000 + (0x41 * 32) + 3));
    }

    [Fact]
    public void Chain4WritesAreLinearInVram()
    {
        SetMode13h();
        for (int x = 0; x < 8; x++)
        {
            _memory.WriteU8(0xA0000 + (ulong)x, (byte)(0x10 + x));
        }

        Assert.Equal(new byte[] { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17 }, _vga.Vram.Slice(0, 8).ToArray());
        Assert.Equal((byte)0x13, _memory.ReadU8(0xA0003));
    }

    [Fact]
    public void WriteModeZeroAppliesSetResetBitMaskAndMapMask()
    {
        Seq(4, 0x06);
        Gc(5, 0x00);
        Gc(6, 0x05);
        Seq(2, 0x0F);
        Gc(8, 0xFF);
        _memory.WriteU8(0xA0000, 0xAA);
        Assert.Equal(new byte[] { 0xAA, 0xAA, 0xAA, 0xAA }, _vga.Vram.Slice(0, 4).ToArray());

        // Set/reset on planes 0 and 2 (value 0101b), enabled for planes 0..2; only bits 0xF0 change; plane 3 masked.
        _memory.ReadU8(0xA0000);
        Gc(0, 0x05);
        Gc(1, 0x07);
        Gc(8, 0xF0);
        Seq(2, 0x07);
        _memory.WriteU8(0xA0000, 0x00);
        Assert.Equal(new byte[] { 0xFA, 0x0A, 0xFA, 0xAA }, _vga.Vram.Slice(0, 4).ToArray());

        // Read mode 0 with read map select picks the plane.
        Gc(4, 0x01);
        Assert.Equal((byte)0x0A, _memory.ReadU8(0xA0000));
        Gc(4, 0x03);
        Assert.Equal((byte)0xAA, _memory.ReadU8(0xA0000));
    }

    [Fact]
    public void WriteModeOneCopiesTheLatches()
    {
        Seq(4, 0x06);
        Gc(5, 0x00);
        Gc(6, 0x05);
        Seq(2, 0x0F);
        Gc(8, 0xFF);
        _vga.Vram.Write(0, [1, 2, 3, 4]);
        _memory.ReadU8(0xA0000);
        Gc(5, 0x01);
        _memory.WriteU8(0xA0010, 0xEE);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, _vga.Vram.Slice(0x40, 4).ToArray());
    }

    [Fact]
    public void ReadModeOneComparesColours()
    {
        Seq(4, 0x06);
        Gc(6, 0x05);
        _vga.Vram.Write(0, [0xF0, 0xCC, 0x00, 0xFF]);
        Gc(5, 0x08);
        Gc(2, 0x0B);
        Gc(7, 0x0F);
        // Pixel colour per bit: planes (0xF0,0xCC,0x00,0xFF) → bit7: 1,1,0,1 = 0xB.
        Assert.Equal((byte)0xC0, _memory.ReadU8(0xA0000));
    }

    [Fact]
    public void DacPaletteWritesAndReadsBackSixBitTriples()
    {
        Out8(0x3C8, 0x20);
        Out8(0x3C9, 0x3F);
        Out8(0x3C9, 0x10);
        Out8(0x3C9, 0x01);
        Out8(0x3C9, 0x02);
        Out8(0x3C9, 0x03);
        Out8(0x3C9, 0x04);
        Assert.Equal(0x22u, _io.Read(0x3C8, 1));

        Out8(0x3C7, 0x20);
        Assert.Equal(3u, _io.Read(0x3C7, 1));
        byte[] back = new byte[6];
        for (int i = 0; i < back.Length; i++)
        {
            back[i] = (byte)_io.Read(0x3C9, 1);
        }

        Assert.Equal(new byte[] { 0x3F, 0x10, 0x01, 0x02, 0x03, 0x04 }, back);

        var scanout = new VgaScanout();
        _vga.CaptureScanout(scanout);
        Assert.Equal(0xFF4104u, scanout.Palette[0x20]);
    }

    [Fact]
    public void AttributeFlipFlopAlternatesAndInputStatusResetsIt()
    {
        _io.Read(0x3DA, 1);
        Out8(0x3C0, 0x01);
        Out8(0x3C0, 0x3A);
        Out8(0x3C0, 0x21);
        Assert.Equal(0x21u, _io.Read(0x3C0, 1));
        Assert.Equal(0x3Au, _io.Read(0x3C1, 1));

        Out8(0x3C0, 0x02);
        _io.Read(0x3DA, 1);
        Out8(0x3C0, 0x22);
        Assert.Equal(0x22u, _io.Read(0x3C0, 1));
    }

    [Fact]
    public void RetraceBitToggles()
    {
        uint a = _io.Read(0x3DA, 1) & 0x08;
        uint b = _io.Read(0x3DA, 1) & 0x08;
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void CrtcCursorRegistersShapeTheScanout()
    {
        Crtc(0x0A, 0x0D);
        Crtc(0x0B, 0x0E);
        Crtc(0x0E, 0x00);
        Crtc(0x0F, 81);
        Out8(0x3D4, 0x0F);
        Assert.Equal(81u, _io.Read(0x3D5, 1));

        var scanout = new VgaScanout();
        _vga.CaptureScanout(scanout);
        Assert.Equal(VgaScanoutKind.Text, scanout.Kind);
        Assert.Equal((80, 25, 9, 16), (scanout.Columns, scanout.Rows, scanout.CellWidth, scanout.CharHeight));
        Assert.Equal((720, 400), (scanout.Width, scanout.Height));
        Assert.Equal(81 * 4, scanout.CursorOffset);
        Assert.Equal((13, 14), (scanout.CursorStart, scanout.CursorEnd));

        Crtc(0x0A, 0x20);
        _vga.CaptureScanout(scanout);
        Assert.Equal(-1, scanout.CursorOffset);
    }

    [Fact]
    public void Mode13hScansOut320x200Indexed()
    {
        SetMode13h();
        var scanout = new VgaScanout();
        _vga.CaptureScanout(scanout);
        Assert.Equal(VgaScanoutKind.Indexed256, scanout.Kind);
        Assert.Equal((320, 200, 320), (scanout.Width, scanout.Height, scanout.LineOffsetBytes));
    }

    [Fact]
    public void VbeReportsIdAndMemoryAndEnablesAMode()
    {
        Assert.Equal(VbeDispi.Id5, VbeRead(VbeDispi.IndexId));
        Assert.Equal((ushort)16, VbeRead(VbeDispi.IndexVideoMemory64K));

        Vbe(VbeDispi.IndexEnable, VbeDispi.GetCaps);
        Assert.Equal(VbeDispi.MaxXRes, VbeRead(VbeDispi.IndexXRes));
        Vbe(VbeDispi.IndexEnable, 0);

        Vbe(VbeDispi.IndexXRes, 640);
        Vbe(VbeDispi.IndexYRes, 400);
        Vbe(VbeDispi.IndexBpp, 32);
        Vbe(VbeDispi.IndexEnable, VbeDispi.Enabled | VbeDispi.LfbEnabled);

        Assert.Equal((ushort)640, VbeRead(VbeDispi.IndexVirtWidth));
        Assert.Equal((ushort)(1024 * 1024 / (640 * 4)), VbeRead(VbeDispi.IndexVirtHeight));
        var scanout = new VgaScanout();
        _vga.CaptureScanout(scanout);
        Assert.Equal(VgaScanoutKind.Vbe, scanout.Kind);
        Assert.Equal((640, 400, 32, 2560), (scanout.Width, scanout.Height, scanout.Bpp, scanout.LineOffsetBytes));

        Vbe(VbeDispi.IndexYOffset, 5);
        _vga.CaptureScanout(scanout);
        Assert.Equal(5 * 2560, scanout.StartOffset);
        Vbe(VbeDispi.IndexYOffset, 100);
        Assert.Equal((ushort)9, VbeRead(VbeDispi.IndexYOffset));
    }

    [Fact]
    public void VbeBankSelectsTheLegacyWindowOffset()
    {
        Vbe(VbeDispi.IndexXRes, 640);
        Vbe(VbeDispi.IndexYRes, 480);
        Vbe(VbeDispi.IndexBpp, 8);
        Vbe(VbeDispi.IndexEnable, VbeDispi.Enabled);
        Vbe(VbeDispi.IndexBank, 2);
        _memory.WriteU8(0xA0005, 0x77);
        Assert.Equal(0x77, _vga.Vram.Slice(0x20005, 1)[0]);
    }

    [Fact]
    public void LinearFramebufferIsDirtyLoggedInTheVgaClient()
    {
        Assert.True(_memory.TryGetRamPage(VbeDispi.LfbPhysicalAddress + 0x3000, write: true, out RamBlock block, out int page, out _));
        Assert.Same(_vga.Vram, block);
        Assert.Equal(3, page);

        var bits = new ulong[(_vga.Vram.PageCount + 63) / 64];
        _vga.Vram.DirtyLog.Sync(DirtyClient.Vga, bits);
        Array.Clear(bits);

        _memory.WriteU32(VbeDispi.LfbPhysicalAddress + 0x3010, 0x00FF00FF);
        Assert.Equal(1L, _vga.Vram.DirtyLog.Sync(DirtyClient.Vga, bits));
        Assert.Equal(1UL << 3, bits[0]);
        Assert.Equal(0x00FF00FFu, BitConverter.ToUInt32(_vga.Vram.Slice(0x3010, 4)));
    }

    [Fact]
    public void LegacyWindowWritesMarkVgaPagesDirty()
    {
        var bits = new ulong[(_vga.Vram.PageCount + 63) / 64];
        _vga.Vram.DirtyLog.Sync(DirtyClient.Vga, bits);
        Array.Clear(bits);

        _memory.WriteU16(0xB8000 + 2100, 0x0741);
        Assert.Equal(1L, _vga.Vram.DirtyLog.Sync(DirtyClient.Vga, bits));
        Assert.Equal(1UL << 1, bits[0]);
    }

    [Fact]
    public void RamBlocksNameTheVram()
    {
        Assert.Equal("vga.vram", Assert.Single(_vga.RamBlocks).IdStr);
    }

    [Fact]
    public void StateRoundTripsThroughBytes()
    {
        SetMode13h();
        Out8(0x3C8, 7);
        Out8(0x3C9, 0x11);
        Vbe(VbeDispi.IndexXRes, 800);
        Vbe(VbeDispi.IndexYRes, 600);
        Vbe(VbeDispi.IndexBpp, 16);
        Vbe(VbeDispi.IndexEnable, VbeDispi.Enabled | VbeDispi.LfbEnabled);
        Vbe(VbeDispi.IndexBank, 3);
        VgaState saved = _vga.Save();

        var writer = new ByteStateWriter();
        ((IVmStateDevice)_vga).SaveState(writer);

        using var other = new VgaDevice(new AddressSpace(), new IoBus(), 1024 * 1024);
        ((IVmStateDevice)other).LoadState(new ByteStateReader(writer.ToArray()), 1);
        AssertStatesEqual(saved, other.Save());

        var a = new VgaScanout();
        var b = new VgaScanout();
        _vga.CaptureScanout(a);
        other.CaptureScanout(b);
        Assert.Equal((a.Kind, a.Width, a.Height, a.Bpp, a.LineOffsetBytes), (b.Kind, b.Width, b.Height, b.Bpp, b.LineOffsetBytes));
    }

    [Fact]
    public void LoadRefusesABadDacIndexAndLeavesTheDeviceAlone()
    {
        VgaState before = _vga.Save();
        var writer = new ByteStateWriter();
        VgaDevice.StateDescription.Save(before with { DacSubIndex = 3 }, writer);

        var e = Assert.Throws<VmStateException>(() =>
            ((IVmStateDevice)_vga).LoadState(new ByteStateReader(writer.ToArray()), 1));
        Assert.Contains("dac_sub_index 3", e.Message);
        AssertStatesEqual(before, _vga.Save());
    }

    [Fact]
    public void LoadRefusesAVbeModeLargerThanVram()
    {
        VgaState before = _vga.Save();
        ushort[] regs = (ushort[])before.VbeRegs.Clone();
        regs[VbeDispi.IndexXRes] = 2048;
        regs[VbeDispi.IndexYRes] = 1536;
        regs[VbeDispi.IndexVirtWidth] = 2048;
        regs[VbeDispi.IndexBpp] = 32;
        regs[VbeDispi.IndexEnable] = VbeDispi.Enabled;

        var e = Assert.Throws<VmStateException>(() => _vga.Load(before with { VbeRegs = regs }));
        Assert.Contains("past vram", e.Message);
        AssertStatesEqual(before, _vga.Save());
    }

    [Fact]
    public void LoadRefusesAnUnknownVersion()
    {
        var writer = new ByteStateWriter();
        ((IVmStateDevice)_vga).SaveState(writer);
        Assert.Throws<VmStateException>(() => ((IVmStateDevice)_vga).LoadState(new ByteStateReader(writer.ToArray()), 2));
    }

    private static void AssertStatesEqual(VgaState expected, VgaState actual)
    {
        Assert.Equal(expected.Sr, actual.Sr);
        Assert.Equal(expected.Gr, actual.Gr);
        Assert.Equal(expected.Ar, actual.Ar);
        Assert.Equal(expected.Cr, actual.Cr);
        Assert.Equal(expected.Palette, actual.Palette);
        Assert.Equal(expected.DacCache, actual.DacCache);
        Assert.Equal(expected.VbeRegs, actual.VbeRegs);
        Assert.Equal(
            expected with { Sr = [], Gr = [], Ar = [], Cr = [], Palette = [], DacCache = [], VbeRegs = [] },
            actual with { Sr = [], Gr = [], Ar = [], Cr = [], Palette = [], DacCache = [], VbeRegs = [] },
            new StateScalarComparer());
    }

    /// <summary>Compares the scalar fields; the arrays are compared element-wise above.</summary>
    private sealed class StateScalarComparer : IEqualityComparer<VgaState>
    {
        public bool Equals(VgaState? x, VgaState? y) =>
            x != null && y != null
            && (x.Latch, x.SrIndex, x.GrIndex, x.ArIndex, x.ArFlipFlop, x.CrIndex, x.Msr, x.Fcr, x.St00, x.St01)
                == (y.Latch, y.SrIndex, y.GrIndex, y.ArIndex, y.ArFlipFlop, y.CrIndex, y.Msr, y.Fcr, y.St00, y.St01)
            && (x.PelMask, x.DacState, x.DacSubIndex, x.DacReadIndex, x.DacWriteIndex, x.VbeIndex, x.BankOffset)
                == (y.PelMask, y.DacState, y.DacSubIndex, y.DacReadIndex, y.DacWriteIndex, y.VbeIndex, y.BankOffset);

        public int GetHashCode(VgaState obj) => 0;
    }
}
