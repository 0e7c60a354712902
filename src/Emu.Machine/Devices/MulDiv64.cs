namespace Emu.Machine.Devices;

/// <summary>QEMU's muldiv64: <c>a * b / c</c> with a 128-bit intermediate, for converting between clock rates.</summary>
internal static class MulDiv64
{
    public static long Scale(long a, long b, long c)
    {
        if (a < 0)
        {
            return -(long)((UInt128)(ulong)(-a) * (ulong)b / (ulong)c);
        }

        return (long)((UInt128)(ulong)a * (ulong)b / (ulong)c);
    }

    /// <summary><c>ceil(a * b / c)</c> for non-negative a: the first instant at or after a tick boundary.</summary>
    public static long ScaleCeiling(long a, long b, long c)
    {
        UInt128 p = (UInt128)(ulong)a * (ulong)b;
        return (long)((p + (ulong)c - 1) / (ulong)c);
    }
}
