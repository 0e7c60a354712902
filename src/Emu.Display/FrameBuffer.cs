namespace Emu.Display;

/// <summary>
/// A picture of the guest screen: 32-bit pixels 0x00RRGGBB (XRGB, SDL's ARGB8888 with the alpha byte ignored),
/// rows top to bottom, no padding between rows.
/// </summary>
public sealed class FrameBuffer
{
    public FrameBuffer(int width, int height)
    {
        if (width <= 0 || height <= 0 || (long)width * height > 64L * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(width), $"display: frame size {width}x{height} is not between 1x1 and 64 Mpixels");
        }

        Width = width;
        Height = height;
        Pixels = new uint[width * height];
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Row-major XRGB pixels; pixel (x, y) is at <c>y * Width + x</c>.</summary>
    public uint[] Pixels { get; }

    public Span<uint> Row(int y) => Pixels.AsSpan(y * Width, Width);

    public uint this[int x, int y]
    {
        get => Pixels[(y * Width) + x];
        set => Pixels[(y * Width) + x] = value;
    }

    public FrameBuffer Clone()
    {
        var copy = new FrameBuffer(Width, Height);
        Pixels.CopyTo(copy.Pixels, 0);
        return copy;
    }
}
