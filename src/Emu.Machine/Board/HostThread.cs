using System.Runtime.InteropServices;

namespace Emu.Machine.Board;

/// <summary>The calling thread as the host kernel knows it: its id (what QEMU reports as a vCPU's thread-id), its nice value.</summary>
internal static partial class HostThread
{
    private const int PrioProcess = 0;

    public static long CurrentId() => OperatingSystem.IsLinux() ? Gettid() : Environment.CurrentManagedThreadId;

    /// <summary>
    /// Sets the calling thread's nice value (Linux keeps one per thread; .NET's Thread.Priority does not reach it).
    /// Raising it needs no privilege; a failure leaves the thread as it was.
    /// </summary>
    public static void SetNice(int nice)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = Setpriority(PrioProcess, Gettid(), nice);
        }
    }

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int Gettid();

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int Setpriority(int which, int who, int prio);
}
