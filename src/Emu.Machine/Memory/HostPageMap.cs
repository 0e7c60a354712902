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
    /// <summary>Pages whose pagemap entries one read takes (64 KiB of entries, 32 MiB of guest RAM).</summary>
    public const int EntriesPerRead = 8192;

    private const string PageMapPath = "/proc/self/pagemap";
    private const ulong PresentBit = 1UL << 63, SwappedBit = 1UL << 62;

    /// <summary>The pagemap, open for reading; null when it cannot be read (not Linux, no /proc).</summary>
    public static SafeFileHandle? Open()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return File.OpenHandle(PageMapPath, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// One bit per page of <paramref name="block"/>, set where the page is neither present nor swapped; null when
    /// the pagemap cannot be read, in which case every page must be read to be judged.
    /// </summary>
    public static ulong[]? UnpopulatedPages(RamBlock block)
    {
        using SafeFileHandle? file = Open();
        if (file == null)
        {
            return null;
        }

        var bits = new ulong[(block.PageCount + 63) / 64];
        byte[] scratch = new byte[EntriesPerRead * sizeof(ulong)];
        for (int page = 0; page < block.PageCount; page += EntriesPerRead)
        {
            if (!ReadUnpopulated(file, block, page, scratch, bits))
            {
                return null;
            }
        }

        return bits;
    }

    /// <summary>
    /// Sets in <paramref name="bits"/> (one per page of the block) the unpopulated pages among the
    /// <see cref="EntriesPerRead"/> pages from <paramref name="firstPage"/>; false if the pagemap could not be read.
    /// Compiled optimized at once: it runs over every page of a migrating guest, and the first-tier code doubled
    /// its time (21–28 ms against 10–18 ms at 256 MiB, most of it the kernel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe bool ReadUnpopulated(SafeFileHandle pagemap, RamBlock block, int firstPage, byte[] scratch, ulong[] bits)
    {
        int count = Math.Min(EntriesPerRead, block.PageCount - firstPage);
        Span<byte> chunk = scratch.AsSpan(0, count * sizeof(ulong));
        long firstEntry = (long)((ulong)block.HostPointer >> RamBlock.PageShift);
        try
        {
            if (RandomAccess.Read(pagemap, chunk, (firstEntry + firstPage) * sizeof(ulong)) != chunk.Length)
            {
                return false;
            }
        }
        catch (IOException)
        {
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(chunk[(i * sizeof(ulong))..]);
            if ((entry & (PresentBit | SwappedBit)) == 0)
            {
                bits[(firstPage + i) >> 6] |= 1UL << ((firstPage + i) & 63);
            }
        }

        return true;
    }

    /// <summary>True if bit <paramref name="page"/> is set in <paramref name="bits"/> (a null map knows nothing).</summary>
    public static bool IsSet(ulong[]? bits, int page) => bits != null && (bits[page >> 6] & (1UL << (page & 63))) != 0;

    /// <summary>Clears bit <paramref name="page"/> (the page has been written since the map was read).</summary>
    public static void Clear(ulong[] bits, int page) => bits[page >> 6] &= ~(1UL << (page & 63));
}
