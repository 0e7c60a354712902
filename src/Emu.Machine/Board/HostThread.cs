using System.Runtime.InteropServices;

namespace Emu.Machine.Board;

/// <summary>The calling thread's id as the host kernel knows it (what QEMU reports as a vCPU's thread-id).</summary>
internal static partial class HostThread
{
    public static long CurrentId() => OperatingSystem.IsLinux() ? Gettid() : Environment.CurrentManagedThreadId;

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int Gettid();
}
