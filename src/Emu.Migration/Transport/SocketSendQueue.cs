using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Emu.Migration.Transport;

/// <summary>
/// Linux's SIOCOUTQ (= TIOCOUTQ, 0x5411) on a connected stream socket: the bytes it still holds that the peer has
/// not taken — on tcp not yet acknowledged, on unix not yet read (counted with the kernel's per-buffer overhead, so
/// never less than the data). Bytes written to a socket are only handed to the kernel; subtracting this gives the
/// bytes that really left, which is what a bandwidth figure must count.
/// </summary>
internal static partial class SocketSendQueue
{
    private const nuint Siocoutq = 0x5411;

    /// <summary>The socket's unsent bytes; 0 when it is closed, not Linux, or the kernel refuses to say.</summary>
    public static long UnsentBytes(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        bool added = false;
        SafeSocketHandle? handle = null;
        try
        {
            handle = socket.SafeHandle;
            // Holds the descriptor open while ioctl runs: a cancel may close the socket from another thread.
            handle.DangerousAddRef(ref added);
            return ioctl((int)handle.DangerousGetHandle(), Siocoutq, out int unsent) == 0 ? Math.Max(0, unsent) : 0;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
            {
                handle!.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, out int value);
}
