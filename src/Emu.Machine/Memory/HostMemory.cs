using System.Runtime.InteropServices;

namespace Emu.Machine.Memory;

/// <summary>
/// Anonymous, page-aligned host memory from mmap: the kernel hands out zero pages lazily, so a 1 GiB guest
/// costs nothing until it is touched and an untouched page reads as zero without a fault into .NET. Memory of at
/// least one huge page is aligned to 2 MiB and advised for transparent huge pages (as QEMU advises guest RAM): the
/// first touch then costs one fault per 2 MiB instead of 512, which was the largest cost of a destination placing
/// a guest's pages (a quarter of its loading thread's time at 256 MiB on this machine class) and of a guest's
/// first pass over its memory.
/// </summary>
internal static unsafe partial class HostMemory
{
    /// <summary>The x86-64 transparent huge page.</summary>
    public const ulong HugePageBytes = 2UL << 20;

    private const int ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    private const int MadvHugePage = 14;
    private const int MadvPopulateWrite = 23;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint addr, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint addr, nuint length, int advice);

    public static byte* Allocate(ulong bytes)
    {
        if (bytes < HugePageBytes)
        {
            return (byte*)Map(bytes);
        }

        // Over-map by one huge page, keep the 2 MiB-aligned part: a huge page needs an aligned 2 MiB range.
        nint raw = Map(bytes + HugePageBytes);
        nint aligned = (nint)(((ulong)raw + HugePageBytes - 1) & ~(HugePageBytes - 1));
        ulong head = (ulong)(aligned - raw);
        if (head != 0)
        {
            _ = munmap(raw, (nuint)head);
        }

        _ = munmap(aligned + (nint)bytes, (nuint)(HugePageBytes - head));

        // Advice only: where the kernel has no transparent huge pages the memory works in 4 KiB pages as before.
        _ = madvise(aligned, (nuint)bytes, MadvHugePage);
        return (byte*)aligned;
    }

    public static void Free(byte* p, ulong bytes) => _ = munmap((nint)p, (nuint)bytes);

    /// <summary>
    /// Backs [p, p + bytes) with memory now, as a write to each page would, without writing (MADV_POPULATE_WRITE,
    /// Linux 5.14): safe while other threads write the range. False where the kernel cannot (older kernels).
    /// </summary>
    public static bool Populate(byte* p, ulong bytes) => madvise((nint)p, (nuint)bytes, MadvPopulateWrite) == 0;

    private static nint Map(ulong bytes)
    {
        nint p = mmap(0, (nuint)bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (p == -1)
        {
            throw new OutOfMemoryException($"memory: mmap of {bytes} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        }

        return p;
    }
}
