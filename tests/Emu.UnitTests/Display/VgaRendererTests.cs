using Emu.Display;
using Emu.Machine.Devices.Vga;
using Emu.Machine.Io;
using Emu.Machine.Memory;

namespace Emu.UnitTests.Display;

public sealed class VgaRendererTests : IDisposable
{
    internal const uint Black = 0x000000;
    internal const uint LightGrey = 0xAAAAAA;
    internal const uint White = 0xFFFFFF;
    internal const uint Blue = 0x0000AA;

    private readonly AddressSpace _memory = new();
    private readonly IoBus _io = new();
    private readonly VgaDevice _vga;
    private readonly VgaRenderer _renderer;

    public VgaRendererTests()
    {
        _vga = new VgaDevice(_memory, _io, 1024 * 1024);
        _renderer = new VgaRenderer(_vga);
    }

    public void Dispose() => _vga.Dispose();

    private void PutText(int row, int col, string text, byte attr)
    {
        for (int i = 0; i < text.Length; i++)
        {
            _memory.WriteU16(0xB8000 + (ulong)(((row * 80) + col + i) * 2), (ushort)(text[i] | (attr << 8)));
        }
    }

    private void HideCursor() => _io.Write(0x3D4, 2, 0x200A);

    [Fact]
    public void TextCellShowsTheBuiltInGlyphWhenPlaneTwoIsEmpty()
    {
        HideCursor();
        PutText(2, 3, "A", 0x1F);
        Assert.True(_renderer.Update(0));
        FrameBuffer f = _renderer.Frame;
        Assert.Equal((720, 400), (f.Width, f.Height));

        ReadOnlySpan<byte> glyph = DefaultFont.Glyphs8x16.Slice('A' * 16, 16);
        int x0 = 3 * 9, y0 = 2 * 16;
        for (int row = 0; row < 16; row++)
        {
            for (int col = 0; col < 9; col++)
            {
                bool ink = col < 8 && (glyph[row] & (0x80 >> col)) != 0;
                Assert.Equal(ink ? White : Blue, f[x0 + col, y0 + row]);
            }
        }

        // Untouched cells are black on black.
        Assert.Equal(Black, f[0, 0]);
    }

    [Fact]
    public void TextUsesTheGuestFontFromPlaneTwo()
    {
        HideCursor();
        // Load a font with one glyph: 'A' is a solid block on rows 0..3, through planar access as a BIOS does.
        _io.Write(0x3C4, 2, 0x0402);
        _io.Write(0x3C4, 2, 0x0704);
        _io.Write(0x3CE, 2, 0x0204);
        _io.Write(0x3CE, 2, 0x0005);
        _io.Write(0x3CE, 2, 0x0406);
        for (int row = 0; row < 4; row++)
        {
            _memory.WriteU8(0xA0000 + ('A' * 32) + (ulong)row, 0xFF);
        }

        _io.Write(0x3C4, 2, 0x0302);
        _io.Write(0x3C4, 2, 0x0304);
        _io.Write(0x3CE, 2, 0x0004);
        _io.Write(0x3CE, 2, 0x1005);
        _io.Write(0x3CE, 2, 0x0E06);
        PutText(0, 0, "A", 0x07);
        _renderer.Update(0);
        FrameBuffer f = _renderer.Frame;
        Assert.Equal(LightGrey, f[0, 0]);
        Assert.Equal(LightGrey, f[7, 3]);
        Assert.Equal(Black, f[8, 0]);
        Assert.Equal(Black, f[0, 4]);
    }

    [Fact]
    public void BlinkingTextDisappearsInTheOffPhase()
    {
        HideCursor();
        PutText(0, 0, "H", 0x87);
        _renderer.Update(0);
        Assert.Contains(LightGrey, _renderer.Frame.Pixels);
        Assert.True(_renderer.Update(VgaRenderer.CharBlinkMs));
        Assert.DoesNotContain(LightGrey, _renderer.Frame.Pixels);
    }

    [Fact]
    public void CursorBlinksAtItsScanlines()
    {
        PutText(0, 0, "      ", 0x07);
        _io.Write(0x3D4, 2, 0x0E0A);
        _io.Write(0x3D4, 2, 0x0F0B);
        _io.Write(0x3D4, 2, 0x000E);
        _io.Write(0x3D4, 2, 0x050F);
        _renderer.Update(0);
        FrameBuffer f = _renderer.Frame;
        Assert.Equal(LightGrey, f[(5 * 9) + 4, 14]);
        Assert.Equal(Black, f[(5 * 9) + 4, 13]);
        _renderer.Update(VgaRenderer.CursorBlinkMs);
        Assert.Equal(Black, _renderer.Frame[(5 * 9) + 4, 14]);
    }

    [Fact]
    public void UpdateRedrawsOnlyWhenSomethingChanged()
    {
        HideCursor();
        _renderer.Update(0);
        Assert.False(_renderer.Update(1));
        PutText(24, 79, "Z", 0x0F);
        Assert.True(_renderer.Update(2));
        Assert.True(TextOnScreen.Contains(_renderer.Frame, "Z", [1]));
        Assert.False(_renderer.Update(3));
    }

    [Fact]
    public void RenderedTextIsFoundByTextOnScreenAtScaleOneAndTwo()
    {
        HideCursor();
        PutText(10, 20, "Hello, Emu 42", 0x1E);
        FrameBuffer f = _renderer.Snapshot(0);
        Assert.True(TextOnScreen.TryFind(f, "Hello, Emu 42", out TextMatch m, [1]));
        Assert.Equal((20 * 9, 10 * 16, 9), (m.X, m.Y, m.CellWidth));
        Assert.False(TextOnScreen.Contains(f, "Hello, Emu 43", [1]));

        var doubled = new FrameBuffer(f.Width * 2, f.Height * 2);
        for (int y = 0; y < doubled.Height; y++)
        {
            for (int x = 0; x < doubled.Width; x++)
            {
                doubled[x, y] = f[x / 2, y / 2];
            }
        }

        Assert.True(TextOnScreen.TryFind(doubled, "Hello, Emu 42", out m, [2]));
        Assert.InRange(m.X, (20 * 9 * 2) - 1, 20 * 9 * 2);
        Assert.InRange(m.Y, (10 * 16 * 2) - 1, 10 * 16 * 2);
    }

    [Fact]
    public void Mode13hPixelsGoThroughTheDac()
    {
        // Chain-4 256-colour: the registers mode 13h needs for scanout and addressing.
        _io.Write(0x3C4, 2, 0x0E04);
        _io.Write(0x3CE, 2, 0x4005);
        _io.Write(0x3CE, 2, 0x0506);
        _io.Write(0x3D4, 2, 0x4109);
        _io.Read(0x3DA, 1);
        _io.Write(0x3C0, 1, 0x30);
        _io.Write(0x3C0, 1, 0x41);
        _io.Write(0x3C8, 1, 0x80);
        _io.Write(0x3C9, 1, 0x3F);
        _io.Write(0x3C9, 1, 0x00);
        _io.Write(0x3C9, 1, 0x3F);
        _memory.WriteU8(0xA0000 + (7 * 320) + 5, 0x80);

        _renderer.Update(0);
        FrameBuffer f = _renderer.Frame;
        Assert.Equal((320, 200), (f.Width, f.Height));
        Assert.Equal(0xFF00FFu, f[5, 7]);
        Assert.Equal(Black, f[6, 7]);
    }

    [Fact]
    public void VbeModeDrawsTheLinearFramebufferAndItsDirtyLines()
    {
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexXRes);
        _io.Write(VbeDispi.DataPort, 2, 320);
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexYRes);
        _io.Write(VbeDispi.DataPort, 2, 240);
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexBpp);
        _io.Write(VbeDispi.DataPort, 2, 32);
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexEnable);
        _io.Write(VbeDispi.DataPort, 2, VbeDispi.Enabled | VbeDispi.LfbEnabled);
        _renderer.Update(0);
        Assert.Equal((320, 240), (_renderer.Frame.Width, _renderer.Frame.Height));

        _memory.WriteU32(VbeDispi.LfbPhysicalAddress + (100 * 320 * 4) + (10 * 4), 0x00123456);
        Assert.True(_renderer.Update(1));
        Assert.Equal(0x123456u, _renderer.Frame[10, 100]);

        // A store the renderer did not see through the dirty log stays undrawn: only dirty lines are redrawn.
        _vga.Vram.Slice(50 * 320 * 4, 4)[0] = 0xFF;
        Assert.False(_renderer.Update(2));
        Assert.Equal(Black, _renderer.Frame[0, 50]);
        Assert.Equal(0x0000FFu, _renderer.Snapshot(2)[0, 50]);
    }

    [Theory]
    [InlineData(16, 0xF800, 0xFF0000u)]
    [InlineData(15, 0x03E0, 0x00FF00u)]
    [InlineData(24, 0xFF0000, 0xFF0000u)]
    [InlineData(32, 0x00FF00, 0x00FF00u)]
    public void VbeDirectColourDepthsDecode(int bpp, int raw, uint expected)
    {
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexXRes);
        _io.Write(VbeDispi.DataPort, 2, 64);
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexYRes);
        _io.Write(VbeDispi.DataPort, 2, 8);
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexBpp);
        _io.Write(VbeDispi.DataPort, 2, (uint)bpp);
        _io.Write(VbeDispi.IndexPort, 2, VbeDispi.IndexEnable);
        _io.Write(VbeDispi.DataPort, 2, VbeDispi.Enabled | VbeDispi.LfbEnabled);
        int bytes = VbeDispi.BytesPerPixel(bpp);
        for (int i = 0; i < bytes; i++)
        {
            _memory.WriteU8(VbeDispi.LfbPhysicalAddress + (ulong)i, (byte)(raw >> (8 * i)));
        }

        Assert.Equal(expected, _renderer.Snapshot(0)[0, 0]);
    }
}
