using System.Runtime.InteropServices;

namespace Emu.Machine.Memory;

/// <summary>
/// Anonymous, page-aligned host memory from mmap: the kernel hands out zero pages lazily, so a 1 GiB guest
/// costs nothing until it is touched and an untouched page reads as zero without a fault into .NET.
/// </summary>
internal static unsafe partial class HostMemory
{
    private const int ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint addr, nuint length);

    public static byte* Allocate(ulong bytes)
    {
        nint p = mmap(0, (nuint)bytes, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (p == -1)
        {
            throw new OutOfMemoryException($"memory: mmap of {bytes} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        }

        return (byte*)p;
    }

    public static void Free(byte* p, ulong bytes) => _ = munmap((nint)p, (nuint)bytes);
}
