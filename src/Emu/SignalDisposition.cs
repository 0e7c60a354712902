using System.Runtime.InteropServices;

namespace Emu;

/// <summary>
/// QEMU installs its termination handler for SIGINT whatever it inherited; a process started in the background
/// by a non-interactive shell inherits SIGINT ignored, and .NET then leaves it ignored. Restoring the default
/// first lets <see cref="System.Runtime.InteropServices.PosixSignalRegistration"/> take it, as QEMU does.
/// </summary>
internal static partial class SignalDisposition
{
    private const int SigInt = 2;
    private const nint SigDfl = 0;

    public static void RestoreInterrupt()
    {
        if (OperatingSystem.IsLinux())
        {
            _ = Signal(SigInt, SigDfl);
        }
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signum, nint handler);
}
