using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// A real i386 Linux 6.1 with a busybox initramfs (Emu's Linux guest) on real emu processes: it boots through the
/// bzImage loader and through SYSLINUX on Emu's BIOS, its shell answers on the serial line, and it migrates live
/// (precopy, postcopy, to a file) with its in-guest a-b checker and its memory intact.
/// </summary>
public sealed class LinuxTests
{
    private const int RamMiB = 128;
    private const int CheckerMiB = 16;
    private const int CheckerPages = CheckerMiB * 256;
    private static readonly string CheckerArg = $"abcheck={CheckerMiB},50";

    [Fact]
    public void BzImageBootsToAShellThatRunsCommands()
    {
        using var emu = new EmuProcess("linux-boot");
        emu.Start([.. LinuxGuest.BootArgs(), "-m", $"{RamMiB}M", "-serial", "stdio", "-display", "none"]);
        LinuxGuest.WaitForShell(emu);

        string uname = LinuxGuest.Run(emu, "uname -a");
        Assert.Contains("Linux (none) 6.1.", uname);
        Assert.Contains(" i686 ", uname);

        // CPUID as Emu advertises it: a Pentium Pro with FPU, PSE, TSC, MSR, PAE, CX8, APIC and CMOV, nothing it lacks.
        string cpuinfo = LinuxGuest.Run(emu, "cat /proc/cpuinfo");
        Assert.Contains("cpu family\t: 6", cpuinfo);
        Assert.Contains("model name\t: Pentium Pro", cpuinfo);
        string flags = cpuinfo.Split('\n').Single(l => l.StartsWith("flags", StringComparison.Ordinal));
        foreach (string present in new[] { "fpu", "pse", "tsc", "msr", "pae", "cx8", "apic", "cmov" })
        {
            Assert.Contains($" {present}", flags);
        }

        foreach (string absent in new[] { "vme", "de", "pge", "mmx", "fxsr", "sse" })
        {
            Assert.DoesNotContain($" {absent} ", flags + " ");
        }

        // The kernel found nothing to complain about: TSC calibrated against the PIT, no unknown MSR, no F00F.
        string dmesg = LinuxGuest.Run(emu, "dmesg");
        Assert.Contains("tsc: Detected ", dmesg);
        Assert.DoesNotContain("calibration failed", dmesg);
        Assert.DoesNotContain("Unable to calibrate", dmesg);
        Assert.DoesNotContain("unchecked MSR access", dmesg);
        Assert.DoesNotContain("F00F", dmesg);

        // Timers run: a one-second sleep takes about a second of guest time.
        double before = LinuxGuest.Uptime(emu);
        LinuxGuest.Run(emu, "sleep 1");
        double slept = LinuxGuest.Uptime(emu) - before;
        Assert.InRange(slept, 0.9, 10);
    }

    [Fact]
    public void RtcBaseSetsTheDateLinuxReadsAtBoot()
    {
        using var emu = new EmuProcess("linux-rtc");
        emu.Start([.. LinuxGuest.BootArgs(), "-m", $"{RamMiB}M", "-serial", "stdio", "-display", "none", "-rtc", "base=2006-06-17T16:01:21"]);
        LinuxGuest.WaitForShell(emu);
        Assert.Contains("2006-06-17", LinuxGuest.Run(emu, "date -u +%F"));
    }

    [Fact]
    public void SyslinuxBootsTheKernelFromADiskThroughEmusBios()
    {
        using var emu = new EmuProcess("linux-syslinux");
        string disk = Path.Combine(emu.Directory, "syslinux.img");
        File.Copy(LinuxGuest.File("syslinux.img"), disk);
        emu.Start("-m", $"{RamMiB}M", "-drive", $"file={disk},format=raw", "-serial", "stdio", "-display", "none");
        LinuxGuest.WaitForShell(emu);
        Assert.Contains("SYSLINUX", emu.StandardOutput);

        // The kernel's real-mode setup asked Emu's BIOS for the memory map: E820 answered (no E801 fallback).
        string dmesg = LinuxGuest.Run(emu, "dmesg");
        Assert.Contains("BIOS-e820: [mem 0x0000000000100000-", dmesg);
        Assert.DoesNotContain("BIOS-e801", dmesg);
        Assert.Contains("Linux (none) 6.1.", LinuxGuest.Run(emu, "uname -a"));
    }

    [Theory]
    [InlineData(MigrationTransport.Tcp)]
    [InlineData(MigrationTransport.Unix)]
    public void PrecopyMovesARunningLinuxWithItsShellUptimeAndMemory(MigrationTransport transport)
    {
        using var pair = MigrationPair.StartLinux($"linux-precopy-{transport.ToString().ToLowerInvariant()}", transport, RamMiB, CheckerArg);
        LinuxGuest.WaitForPasses(pair.Source, 3);
        double uptimeBefore = LinuxGuest.Uptime(pair.Source);

        pair.SetUnlimitedBandwidth();
        pair.MigrateToCompletion();
        Assert.Equal("postmigrate", MigrationPair.RunStatus(pair.SourceQmp));

        AssertContinuesOnDestination(pair, uptimeBefore);
    }

    [Fact]
    public void PostcopyMovesARunningLinuxWithItsShellUptimeAndMemory()
    {
        using var pair = MigrationPair.StartLinux("linux-postcopy", MigrationTransport.Tcp, RamMiB, CheckerArg);
        MigrationPair.SetCapabilities(pair.SourceQmp, ["postcopy-ram"]);
        MigrationPair.SetCapabilities(pair.DestinationQmp, ["postcopy-ram", "postcopy-blocktime"]);
        LinuxGuest.WaitForPasses(pair.Source, 3);
        double uptimeBefore = LinuxGuest.Uptime(pair.Source);

        // A slow first pass, so that the switch to postcopy happens with most pages still on the source.
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = 32L << 20 });
        pair.MigrateAndStartPostcopy();
        MigrationPair.WaitForStatus(pair.SourceQmp, ["completed"], MigrationPair.Timeout, pair.Diagnostics);

        AssertContinuesOnDestination(pair, uptimeBefore);
    }

    [Fact]
    public void CancelledMigrationLeavesLinuxRunning()
    {
        using var pair = MigrationPair.StartLinux("linux-cancel", MigrationTransport.Tcp, RamMiB, CheckerArg);
        LinuxGuest.WaitForPasses(pair.Source, 2);
        pair.SetParameters(new JsonObject { ["max-bandwidth"] = 1L << 20 });
        pair.Migrate();
        MigrationPair.WaitForStatus(pair.SourceQmp, ["active"], MigrationPair.Timeout, pair.Diagnostics);
        pair.SourceQmp.Execute("migrate_cancel");
        MigrationPair.WaitForStatus(pair.SourceQmp, ["cancelled"], MigrationPair.Timeout, pair.Diagnostics);

        Assert.Equal("running", MigrationPair.RunStatus(pair.SourceQmp));
        LinuxGuest.WaitForPasses(pair.Source, 3);
        Assert.Equal("alive", LinuxGuest.Run(pair.Source, "echo alive").Trim());
        Assert.Empty(LinuxGuest.CheckerErrors(pair.Source));
    }

    [Fact]
    public void FileSnapshotOfARunningLinuxRestoresAndGoesOn()
    {
        using var src = new EmuProcess("linux-file-src");
        src.Start([.. LinuxGuest.BootArgs(CheckerArg), "-m", $"{RamMiB}M", "-serial", "stdio", "-display", "none", "-qmp", src.QmpSpec]);
        using QmpClient srcQmp = src.ConnectQmp();
        LinuxGuest.WaitForShell(src);
        LinuxGuest.WaitForPasses(src, 2);
        double uptimeBefore = LinuxGuest.Uptime(src);
        string snapshot = Path.Combine(src.Directory, "linux.qevm");
        srcQmp.Execute("stop");
        srcQmp.Execute("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 0 });
        srcQmp.Execute("migrate", new JsonObject { ["uri"] = $"file:{snapshot}" });
        MigrationPair.WaitForStatus(srcQmp, ["completed"], MigrationPair.Timeout, src.Diagnostics);

        using var restored = new EmuProcess("linux-file-restore");
        restored.Start([.. LinuxGuest.BootArgs(CheckerArg), "-m", $"{RamMiB}M", "-serial", "stdio", "-display", "none", "-qmp", restored.QmpSpec, "-incoming", $"file:{snapshot}"]);
        using QmpClient qmp = restored.ConnectQmp();
        MigrationPair.WaitForStatus(qmp, ["completed"], MigrationPair.Timeout, restored.Diagnostics);
        qmp.Execute("cont");
        LinuxGuest.WaitForPasses(restored, 2);
        Assert.True(LinuxGuest.Uptime(restored) >= uptimeBefore);
        Assert.Empty(LinuxGuest.CheckerErrors(restored));
        LinuxGuest.StopAndCheckRegion(restored, qmp, (ulong)RamMiB << 20, CheckerPages);
    }

    /// <summary>
    /// After a completed migration: the destination's checker goes on passing with no error, the same shell
    /// answers there, the guest's uptime goes on from where it was, and its memory keeps the a-b rule.
    /// </summary>
    private static void AssertContinuesOnDestination(MigrationPair pair, double uptimeBefore)
    {
        // The source says completed once its last byte is out; the destination runs once it has loaded them.
        MigrationPair.WaitForStatus(pair.DestinationQmp, ["completed"], MigrationPair.Timeout, pair.Diagnostics);
        pair.WaitUntil(() => MigrationPair.RunStatus(pair.DestinationQmp) == "running", "the destination running");
        LinuxGuest.WaitForPasses(pair.Destination, 3);
        Assert.DoesNotContain("BusyBox v", pair.Destination.StandardOutput); // it continued, it did not boot
        double uptimeAfter = LinuxGuest.Uptime(pair.Destination);
        Assert.True(uptimeAfter >= uptimeBefore, $"uptime went back from {uptimeBefore} to {uptimeAfter}");
        Assert.Contains(CheckerArg, LinuxGuest.Run(pair.Destination, "cat /proc/cmdline"));
        Assert.Empty(LinuxGuest.CheckerErrors(pair.Source));
        Assert.Empty(LinuxGuest.CheckerErrors(pair.Destination));
        LinuxGuest.StopAndCheckRegion(pair.Destination, pair.DestinationQmp, pair.RamBytes, CheckerPages);
    }
}
