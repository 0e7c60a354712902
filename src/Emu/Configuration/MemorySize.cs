using System.Globalization;

namespace Emu.Configuration;

/// <summary>QEMU's size syntax: a number with an optional K/M/G/T suffix; a bare number means MiB for <c>-m</c>.</summary>
public static class MemorySize
{
    public const ulong MinRamBytes = 2UL << 20;
    public const ulong MaxRamBytes = 3UL << 30;

    public static ulong Parse(string text, string option)
    {
        string t = text.Trim();
        ulong unit = 1UL << 20;
        if (t.Length > 1 && char.IsAsciiDigit(t[^2]) && "KMGTkmgt".Contains(t[^1]))
        {
            unit = 1UL << (10 * ("KMGT".IndexOf(char.ToUpperInvariant(t[^1])) + 1));
            t = t[..^1];
        }

        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n == 0)
        {
            throw new ConfigurationException($"emu: option '{option}': '{text}' is not a size (e.g. 128M, 1G)");
        }

        // A count too large to multiply out is as much over the limit as one that fits.
        ulong bytes = n > MaxRamBytes / unit ? ulong.MaxValue : n * unit;
        if (bytes < MinRamBytes || bytes > MaxRamBytes || (bytes & 0xFFFFF) != 0)
        {
            throw new ConfigurationException($"emu: option '{option}': RAM size {text} must be whole MiB between 2M and 3G");
        }

        return bytes;
    }
}
