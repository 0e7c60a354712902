namespace Emu.Migration.Ram;

/// <summary>QEMU buffer_is_zero for one target page.</summary>
public static class ZeroPage
{
    /// <summary>Vectorized (IndexOfAnyExcept uses SIMD) and allocation-free.</summary>
    public static bool IsZero(ReadOnlySpan<byte> page) => page.IndexOfAnyExcept((byte)0) < 0;
}
