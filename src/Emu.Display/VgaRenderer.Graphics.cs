using Emu.Machine.Devices.Vga;

namespace Emu.Display;

/// <summary>Graphics modes (QEMU vga_draw_graphic and the vga_draw_line* family): planar, 256-colour and VBE.</summary>
public sealed unsafe partial class VgaRenderer
{
    private bool DrawGraphics(VgaScanout s, FrameBuffer frame, bool full)
    {
        int lineBytes = s.Kind switch
        {
            VgaScanoutKind.Planar16 => ((s.Width + 7) / 8) * 4,
            VgaScanoutKind.Indexed256 => s.Width,
            _ => s.Width * VbeDispi.BytesPerPixel(s.Bpp),
        };

        bool drew = false;
        for (int y = 0; y < s.Height; y++)
        {
            long line = s.StartOffset + ((long)y * s.LineOffsetBytes);
            if (!full && !AnyDirty(line, lineBytes))
            {
                continue;
            }

            Span<uint> dst = frame.Row(y);
            if (line < 0 || line + lineBytes > _vramBytes)
            {
                dst.Clear();
            }
            else
            {
                byte* src = _vram + line;
                switch (s.Kind)
                {
                    case VgaScanoutKind.Planar16:
                        DrawLinePlanar16(src, dst, s.AttributeColors, s.PlaneEnableMask);
                        break;
                    case VgaScanoutKind.Indexed256:
                        DrawLine8(src, dst, s.Palette);
                        break;
                    default:
                        DrawLineVbe(src, dst, s.Bpp, s.Palette);
                        break;
                }
            }

            drew = true;
        }

        return drew;
    }

    /// <summary>One bit per plane per pixel, bit 7 leftmost; each planar byte is 4 vram bytes (QEMU vga_draw_line4).</summary>
    private static void DrawLinePlanar16(byte* src, Span<uint> dst, uint[] colors, int planeMask)
    {
        for (int x = 0; x < dst.Length; x++)
        {
            byte* planes = src + ((x >> 3) * 4);
            int bit = 7 - (x & 7);
            int index = ((planes[0] >> bit) & 1) | (((planes[1] >> bit) & 1) << 1)
                | (((planes[2] >> bit) & 1) << 2) | (((planes[3] >> bit) & 1) << 3);
            dst[x] = colors[index & planeMask];
        }
    }

    private static void DrawLine8(byte* src, Span<uint> dst, uint[] palette)
    {
        for (int x = 0; x < dst.Length; x++)
        {
            dst[x] = palette[src[x]];
        }
    }

    /// <summary>Direct-colour VBE pixels, little-endian (QEMU vga_draw_line15/16/24/32).</summary>
    private static void DrawLineVbe(byte* src, Span<uint> dst, int bpp, uint[] palette)
    {
        switch (bpp)
        {
            case 8:
                DrawLine8(src, dst, palette);
                break;
            case 15:
                for (int x = 0; x < dst.Length; x++)
                {
                    int v = src[x * 2] | (src[(x * 2) + 1] << 8);
                    dst[x] = Rgb(Expand5((v >> 10) & 0x1F), Expand5((v >> 5) & 0x1F), Expand5(v & 0x1F));
                }

                break;
            case 16:
                for (int x = 0; x < dst.Length; x++)
                {
                    int v = src[x * 2] | (src[(x * 2) + 1] << 8);
                    dst[x] = Rgb(Expand5((v >> 11) & 0x1F), Expand6((v >> 5) & 0x3F), Expand5(v & 0x1F));
                }

                break;
            case 24:
                for (int x = 0; x < dst.Length; x++)
                {
                    byte* p = src + (x * 3);
                    dst[x] = Rgb(p[2], p[1], p[0]);
                }

                break;
            default:
                for (int x = 0; x < dst.Length; x++)
                {
                    dst[x] = ((uint*)src)[x] & 0x00FFFFFF;
                }

                break;
        }
    }

    private static int Expand5(int v) => (v << 3) | (v >> 2);

    private static int Expand6(int v) => (v << 2) | (v >> 4);

    private static uint Rgb(int r, int g, int b) => (uint)((r << 16) | (g << 8) | b);
}
