using System.Text;

namespace Emu.Display;

/// <summary>Writes a <see cref="FrameBuffer"/> as a binary PPM ("P6", maxval 255): QEMU screendump's default format.</summary>
public static class PpmWriter
{
    public static void Write(Stream output, FrameBuffer frame)
    {
        output.Write(Encoding.ASCII.GetBytes($"P6\n{frame.Width} {frame.Height}\n255\n"));
        var row = new byte[frame.Width * 3];
        for (int y = 0; y < frame.Height; y++)
        {
            ReadOnlySpan<uint> pixels = frame.Row(y);
            for (int x = 0; x < pixels.Length; x++)
            {
                uint p = pixels[x];
                row[x * 3] = (byte)(p >> 16);
                row[(x * 3) + 1] = (byte)(p >> 8);
                row[(x * 3) + 2] = (byte)p;
            }

            output.Write(row);
        }
    }
}
