using Emu.EndToEndTests.Support;
using Emu.Machine.Diagnostics;

namespace Emu.EndToEndTests;

/// <summary>
/// When guest RAM gets host memory behind it: a destination waiting with <c>-incoming</c> backs all of it in the
/// background (the migration will write every page), <c>-mem-prealloc</c> before the guest starts (QEMU's switch),
/// and any other emu only as the guest touches it. Read from the process's resident set.
/// </summary>
public sealed class HostRamTests
{
    private const int RamMiB = 256;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void AnIncomingDestinationBacksItsRamWhileItWaits()
    {
        using var emu = new EmuProcess("prefault-incoming");
        emu.Start("-m", $"{RamMiB}M", "-kernel", EmuProcess.GuestPath("hello"), "-display", "none", "-serial", "none", "-incoming", "defer");
        Assert.True(SpinWait.SpinUntil(() => ResidentMiB(emu) >= RamMiB, Timeout),
            $"the destination's resident set stayed at {ResidentMiB(emu)} MiB for {Timeout.TotalSeconds} s, below its {RamMiB} MiB of guest RAM");
    }

    [Fact]
    public void MemPreallocBacksTheRamBeforeTheGuestStarts()
    {
        using var emu = new EmuProcess("mem-prealloc");
        emu.Start("-m", $"{RamMiB}M", "-kernel", EmuProcess.GuestPath("hello"), "-display", "none", "-serial", "none", "-S",
            "-mem-prealloc", "-qmp", emu.QmpSpec);
        using var qmp = QmpClient.ConnectUnix(emu.QmpSocketPath, Timeout);
        Assert.True(ResidentMiB(emu) >= RamMiB, $"resident set {ResidentMiB(emu)} MiB once QMP answers, below the {RamMiB} MiB of guest RAM");
    }

    [Fact]
    public void AGuestThatIsNotMigratingInGetsMemoryOnlyAsItTouchesIt()
    {
        using var emu = new EmuProcess("no-prefault");
        emu.Start("-m", $"{RamMiB}M", "-kernel", EmuProcess.GuestPath("hello"), "-display", "none", "-serial", "none", "-S", "-qmp", emu.QmpSpec);
        using var qmp = QmpClient.ConnectUnix(emu.QmpSocketPath, Timeout);
        Thread.Sleep(2000);
        Assert.True(ResidentMiB(emu) < RamMiB / 2, $"resident set {ResidentMiB(emu)} MiB for a guest that has not run");
    }

    private static long ResidentMiB(EmuProcess emu) =>
        (long)(ProcFile.ReadKiB($"/proc/{emu.ProcessId}/status", "VmRSS")
            ?? throw new InvalidOperationException($"e2e: no VmRSS in /proc/{emu.ProcessId}/status")) >> 10;
}
