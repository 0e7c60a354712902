using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Emu.Machine.Memory;

/// <summary>
/// Which pages of a block the host kernel has never populated, from <c>/proc/self/pagemap</c>: a page that is
/// neither present nor swapped out has never been written (guest RAM is private anonymous memory) and reads as
/// zero. Reading such a page to find that out costs a page fault per 4 KiB; migration asks the kernel instead,
/// which is most of what moving an idle guest costs.
/// </summary>
public static class HostPageMap
{
    private const string PageMapPath = "/proc/self/pagemap";
    private const ulong PresentBit = 1UL << 63, SwappedBit = 1UL << 62;
    private const int EntriesPerRead = 8192;

    /// <summary>
    /// One bit per page of <paramref name="block"/>, set where the page is neither present nor swapped; null when
    /// the pagemap cannot be read (not Linux, no /proc), in which case every page must be read to be judged.
    /// Compiled optimized at once: it runs once per migration, over every page, so the first-tier code it would
    /// otherwise get doubled its time (21–28 ms against 10–18 ms of setup at 256 MiB, most of it the kernel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe ulong[]? UnpopulatedPages(RamBlock block)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            using SafeFileHandle file = File.OpenHandle(PageMapPath, FileMode.Open, FileAccess.Read);
            var bits = new ulong[(block.PageCount + 63) / 64];
            byte[] entries = new byte[EntriesPerRead * sizeof(ulong)];
            long firstEntry = (long)((ulong)block.HostPointer >> RamBlock.PageShift);
            for (int page = 0; page < block.PageCount; page += EntriesPerRead)
            {
                int count = Math.Min(EntriesPerRead, block.PageCount - page);
                Span<byte> chunk = entries.AsSpan(0, count * sizeof(ulong));
                if (RandomAccess.Read(file, chunk, (firstEntry + page) * sizeof(ulong)) != chunk.Length)
                {
                    return null;
                }

                for (int i = 0; i < count; i++)
                {
                    ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(chunk[(i * sizeof(ulong))..]);
                    if ((entry & (PresentBit | SwappedBit)) == 0)
                    {
                        bits[(page + i) >> 6] |= 1UL << ((page + i) & 63);
                    }
                }
            }

            return bits;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True if bit <paramref name="page"/> is set in <paramref name="bits"/> (a null map knows nothing).</summary>
    public static bool IsSet(ulong[]? bits, int page) => bits != null && (bits[page >> 6] & (1UL << (page & 63))) != 0;

    /// <summary>Clears bit <paramref name="page"/> (the page has been written since the map was read).</summary>
    public static void Clear(ulong[] bits, int page) => bits[page >> 6] &= ~(1UL << (page & 63));
}
