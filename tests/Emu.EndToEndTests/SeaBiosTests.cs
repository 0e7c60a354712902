using System.Text.Json.Nodes;
using Emu.Display;
using Emu.EndToEndTests.Display;
using Emu.EndToEndTests.Support;
using Emu.UnitTests.Display;

namespace Emu.EndToEndTests;

/// <summary>
/// Debian's SeaBIOS 1.16 on Emu's PCI board (issue 11): it finds the i440FX, shadows itself through the PAM
/// registers, runs SeaVGABIOS from the VGA's ROM BAR, and boots what it boots on QEMU.
/// </summary>
public sealed class SeaBiosTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("bios.bin")]
    [InlineData("bios-256k.bin")]
    public void SeaBiosReachesItsBootAttemptAndShowsItsBannerOnTheVga(string image)
    {
        using var emu = new EmuProcess($"seabios-{image}");
        string log = Path.Combine(emu.Directory, "seabios.log");
        emu.Start(["-bios", SeaBios.Path(image), "-m", "128M", "-display", "none", "-serial", "none", "-qmp", emu.QmpSpec, .. SeaBios.LogTo(log)]);
        string text = WaitForFile(log, "No bootable device.");
        Assert.Contains("Found 4 PCI devices", text);
        Assert.Contains("PCI: init bdf=00:00.0 id=8086:1237", text);
        Assert.Contains("PCI: Using 00:02.0 for primary VGA", text);
        Assert.Contains("VBE DISPI: lfb_addr=fd000000", text); // the framebuffer where SeaBIOS put BAR0
        Assert.Contains("Booting from Hard Disk...", text);

        using QmpClient qmp = emu.ConnectQmp();
        FrameBuffer screen = ConsoleTests.Screendump(qmp, emu, "seabios.png");
        Assert.Equal((720, 400), (screen.Width, screen.Height));
        byte[] font = SeaBios.VgaFont();
        Assert.True(TextOnScreen.TryFindAt(screen, "SeaBIOS (version 1.16.2", 1, 1, out TextMatch banner, font), "screendump: no SeaBIOS banner");
        Assert.Equal((0, 0), (banner.X, banner.Y)); // on the first line, from the left
        Assert.True(TextOnScreen.TryFindAt(screen, "No bootable device.", 1, 1, out _, font), "screendump: no 'No bootable device.'");
    }

    /// <summary>
    /// <c>-boot menu=on</c>: SeaBIOS offers its menu; ESC (QMP send-key) opens it on the VGA with the ATA disk listed
    /// as on QEMU, and "1" boots that disk: SYSLINUX starts Linux.
    /// </summary>
    [Fact]
    public void TheBootMenuListsTheDiskAndBootsTheChoice()
    {
        using var emu = new EmuProcess("seabios-menu");
        string disk = Path.Combine(emu.Directory, "syslinux.img");
        File.Copy(LinuxGuest.File("syslinux.img"), disk);
        string log = Path.Combine(emu.Directory, "seabios.log");
        emu.Start(["-bios", SeaBios.Image, "-m", "128M", "-drive", $"file={disk},format=raw", "-boot", "menu=on,splash-time=20000",
            "-serial", "stdio", "-display", "none", "-qmp", emu.QmpSpec, .. SeaBios.LogTo(log)]);
        using QmpClient qmp = emu.ConnectQmp();
        byte[] font = SeaBios.VgaFont();
        WaitForScreen(qmp, emu, "Press ESC for boot menu.", font);
        SendKey(qmp, "esc");
        // SeaBIOS prints the heading before the entries: wait for the disk's line, then the heading is there too.
        FrameBuffer menu = WaitForScreen(qmp, emu, "1. ata0-0: EMU HARDDISK", font);
        Assert.True(TextOnScreen.TryFindAt(menu, "Select boot device:", 1, 1, out _, font), "screendump: the disk is listed without the menu's heading");
        SendKey(qmp, "1");
        LinuxGuest.WaitForShell(emu);
        Assert.Contains("SYSLINUX", emu.StandardOutput);
    }

    private static void SendKey(QmpClient qmp, string qcode) =>
        qmp.Execute("send-key", new JsonObject { ["keys"] = new JsonArray(new JsonObject { ["type"] = "qcode", ["data"] = qcode }) });

    private static FrameBuffer WaitForScreen(QmpClient qmp, EmuProcess emu, string text, byte[] font)
    {
        DateTime end = DateTime.UtcNow + Timeout;
        int n = 0;
        while (true)
        {
            FrameBuffer screen = ConsoleTests.Screendump(qmp, emu, $"wait{n++}.png");
            if (TextOnScreen.TryFindAt(screen, text, 1, 1, out _, font))
            {
                return screen;
            }

            Assert.True(DateTime.UtcNow < end, $"'{text}' never appeared on the VGA screen");
            Thread.Sleep(200);
        }
    }

    [Fact]
    public void TheClockImageBootsUnderSeaBios()
    {
        using var emu = new EmuProcess("seabios-clock");
        emu.Start("-bios", SeaBios.Image, "-drive", $"file={EmuProcess.GuestPath("clock")},format=raw", "-serial", $"file:{emu.SerialPath}",
            "-display", "none");
        string serial = emu.WaitForSerial("tick ", 3, Timeout);
        Assert.Contains("clock: running", serial);
        Assert.DoesNotContain("Emu BIOS", serial); // SeaBIOS booted it, not Emu's BIOS
    }

    [Fact]
    public void LinuxBootsFromTheSyslinuxDiskUnderSeaBios()
    {
        using var emu = new EmuProcess("seabios-linux");
        string disk = Path.Combine(emu.Directory, "syslinux.img");
        File.Copy(LinuxGuest.File("syslinux.img"), disk);
        string log = Path.Combine(emu.Directory, "seabios.log");
        emu.Start(["-bios", SeaBios.Image, "-m", "128M", "-drive", $"file={disk},format=raw", "-serial", "stdio", "-display", "none", .. SeaBios.LogTo(log)]);
        LinuxGuest.WaitForShell(emu);
        Assert.Contains("SYSLINUX", emu.StandardOutput);
        Assert.Contains("Booting from Hard Disk...", File.ReadAllText(log));
        Assert.Contains("Linux (none) 6.1.", LinuxGuest.Run(emu, "uname -a"));

        // SeaBIOS's E820 (its own reservations over fw_cfg's etc/e820) reached the kernel through INT 15h.
        Assert.Contains("BIOS-e820: [mem 0x0000000000100000-", LinuxGuest.Run(emu, "dmesg"));
    }

    private const int CheckerMiB = 16;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ASeaBiosBootedLinuxMigratesAndGoesOn(bool postcopy)
    {
        string name = postcopy ? "seabios-postcopy" : "seabios-precopy";
        string disk = Path.Combine(Path.GetTempPath(), $"emu-{name}-{Environment.ProcessId}.img");
        File.Copy(LinuxGuest.File("syslinux.img"), disk, overwrite: true);
        try
        {
            using var pair = MigrationPair.StartSeaBiosLinux(name, disk);
            LinuxGuest.Run(pair.Source, $"(abcheck {CheckerMiB} 50 &)");
            LinuxGuest.WaitForPasses(pair.Source, 3);
            if (postcopy)
            {
                MigrationPair.SetCapabilities(pair.SourceQmp, ["postcopy-ram"]);
                MigrationPair.SetCapabilities(pair.DestinationQmp, ["postcopy-ram"]);
                pair.SetParameters(new JsonObject { ["max-bandwidth"] = 32L << 20 });
                pair.MigrateAndStartPostcopy();
            }
            else
            {
                pair.SetUnlimitedBandwidth();
                pair.Migrate();
            }

            MigrationPair.WaitForStatus(pair.SourceQmp, ["completed"], MigrationPair.Timeout, pair.Diagnostics);
            MigrationPair.WaitForStatus(pair.DestinationQmp, ["completed"], MigrationPair.Timeout, pair.Diagnostics);
            pair.WaitUntil(() => MigrationPair.RunStatus(pair.DestinationQmp) == "running", "the destination running");
            LinuxGuest.WaitForPasses(pair.Destination, 3);
            Assert.DoesNotContain("SeaBIOS", pair.Destination.StandardOutput); // it went on, it did not boot again
            // The checker's lines may come between the shell's markers: the answer is one of the lines.
            Assert.Contains("alive", LinuxGuest.Run(pair.Destination, "echo alive").Split('\n').Select(l => l.Trim()));
            Assert.Empty(LinuxGuest.CheckerErrors(pair.Source));
            Assert.Empty(LinuxGuest.CheckerErrors(pair.Destination));

            // The shadowed BIOS (PAM state and the RAM behind it) came along: the destination's 440FX still maps
            // 0xF0000 to RAM read-only, as SeaBIOS left it.
            string pam = pair.DestinationQmp.Execute("human-monitor-command", new JsonObject { ["command-line"] = "xp /1bx 0xf0000" })!.GetValue<string>();
            string pamSource = pair.SourceQmp.Execute("human-monitor-command", new JsonObject { ["command-line"] = "xp /1bx 0xf0000" })!.GetValue<string>();
            Assert.Equal(pamSource, pam);
            LinuxGuest.StopAndCheckRegion(pair.Destination, pair.DestinationQmp, pair.RamBytes, CheckerMiB * 256);
        }
        finally
        {
            File.Delete(disk);
        }
    }

    private static string WaitForFile(string path, string text)
    {
        DateTime end = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < end)
        {
            string content = File.Exists(path) ? File.ReadAllText(path) : "";
            if (content.Contains(text, StringComparison.Ordinal))
            {
                return content;
            }

            Thread.Sleep(100);
        }

        throw new TimeoutException($"'{text}' did not appear in {path}: {(File.Exists(path) ? File.ReadAllText(path) : "(no file)")}");
    }
}
