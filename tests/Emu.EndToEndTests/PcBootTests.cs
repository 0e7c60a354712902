using System.Text.RegularExpressions;
using Emu.Display;
using Emu.EndToEndTests.Display;
using Emu.EndToEndTests.Support;
using Emu.UnitTests.Display;

namespace Emu.EndToEndTests;

/// <summary>
/// The PC as a user boots it: no -kernel, so Emu's own BIOS (out/firmware/bios.bin) boots the first disk's boot
/// sector; what the guest prints on COM1 and draws through VGA, and keys typed into the SDL window.
/// </summary>
public sealed partial class PcBootTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public void ClockBootsFromTheDiskAndKeepsCounting()
    {
        using EmuProcess emu = StartFromDisk("clock", "clock");
        string serial = emu.WaitForSerialLines("tick", 3, Timeout);
        Assert.StartsWith("Emu BIOS", serial);
        Assert.Contains("Emu BIOS: 128 MiB RAM, disk: ", serial);
        Assert.Contains("clock: running", serial);

        // "tick N" every 18 BIOS ticks, N counted by the guest: strictly increasing in steps of 18.
        List<long> ticks = [.. TickLine().Matches(serial).Select(m => long.Parse(m.Groups[1].Value))];
        Assert.True(ticks.Count >= 3, serial);
        for (int i = 1; i < ticks.Count; i++)
        {
            Assert.Equal(ticks[i - 1] + 18, ticks[i]);
        }

        using QmpClient qmp = emu.ConnectQmp();
        FrameBuffer before = ConsoleTests.Screendump(qmp, emu, "before.png");
        Assert.Equal((720, 400), (before.Width, before.Height));
        Assert.True(TextOnScreen.TryFindAt(before, "Emu clock", 1, 1, out _), "screendump: no 'Emu clock'");
        Assert.True(TextOnScreen.TryFindAt(before, "counter", 1, 1, out _), "screendump: no 'counter'");

        // The counter, spinner and bar move with every tick: a later picture differs.
        int seen = CountOf(emu.Serial, "tick ");
        emu.WaitForSerial("tick ", seen + 1, Timeout);
        FrameBuffer after = ConsoleTests.Screendump(qmp, emu, "after.png");
        Assert.False(before.Pixels.AsSpan().SequenceEqual(after.Pixels), "the clock screen did not change across a tick");
    }

    [Fact]
    public void Mode13DrawsAMovingPicture()
    {
        using EmuProcess emu = StartFromDisk("mode13", "mode13");
        string serial = emu.WaitForSerial("frame", 2, Timeout);
        Assert.Contains("mode13: running", serial);

        using QmpClient qmp = emu.ConnectQmp();
        FrameBuffer first = ConsoleTests.Screendump(qmp, emu, "first.png");
        Assert.Equal((320, 200), (first.Width, first.Height));
        // (x + frame) XOR (y + frame / 2) mod 256 uses every palette index; the default palette has well over 64 colours.
        Assert.True(DistinctColours(first) >= 64, $"mode 13h screen has only {DistinctColours(first)} colours");

        int seen = CountOf(emu.Serial, "frame ");
        emu.WaitForSerial("frame ", seen + 1, Timeout);
        FrameBuffer later = ConsoleTests.Screendump(qmp, emu, "later.png");
        Assert.Equal((320, 200), (later.Width, later.Height));
        Assert.False(first.Pixels.AsSpan().SequenceEqual(later.Pixels), "the mode 13h pattern did not move");
    }

    [Fact]
    public void WithoutADiskTheBiosSaysSoOnSerialAndScreen()
    {
        using var emu = new EmuProcess("nodisk");
        emu.Start("-serial", $"file:{emu.SerialPath}", "-display", "none", "-qmp", emu.QmpSpec);
        string serial = emu.WaitForSerialLines("No bootable disk", 1, Timeout);
        Assert.Contains("Emu BIOS: 128 MiB RAM, no disk", serial);

        using QmpClient qmp = emu.ConnectQmp();
        FrameBuffer screen = ConsoleTests.Screendump(qmp, emu, "nodisk.png");
        Assert.Equal((720, 400), (screen.Width, screen.Height));
        Assert.True(TextOnScreen.TryFindAt(screen, "No bootable disk", 1, 1, out _), "screendump: no 'No bootable disk'");
        Assert.False(emu.HasExited, emu.Diagnostics());
    }

    [Fact]
    public void TheBiosFollowsTheBootOrderFromFwCfg()
    {
        using var emu = new EmuProcess("bootorder");
        emu.Start("-drive", $"file={EmuProcess.GuestPath("clock")},format=raw", "-boot", "n", "-serial", $"file:{emu.SerialPath}", "-display", "none");
        string serial = emu.WaitForSerialLines("No bootable disk", 1, Timeout);
        Assert.Contains("No bootable disk: the boot order (fw_cfg) names no hard disk", serial);
        Assert.DoesNotContain("clock: running", serial);
    }

    [X11ToolFact("xwininfo", "xdotool")]
    public void KeysTypedIntoTheWindowReachTheGuest()
    {
        using XvfbServer xvfb = XvfbServer.Start(1024, 768);
        using EmuProcess emu = ConsoleTests.StartClockWithSdl(xvfb, "keys");
        emu.WaitForSerial("tick", Timeout);
        XWindow window = X11Client.WaitForWindow(xvfb.Display, w => w.Title == "Emu — running", Timeout, emu.Diagnostics);

        // No window manager under Xvfb: give the window the input focus, then type through XTEST as a user would.
        X11Client.Run(xvfb.Display, "xdotool", "windowfocus", "--sync", window.Id);
        X11Client.Run(xvfb.Display, "xdotool", "key", "--delay", "50", "a", "shift+b", "7");

        // "key K C": K keys so far, C the ASCII code INT 16h returned.
        string serial = emu.WaitForSerialLines("key 3 ", 1, Timeout);
        Assert.Contains("key 1 97\r\n", serial);
        Assert.Contains("key 2 66\r\n", serial);
        Assert.Contains("key 3 55\r\n", serial);
    }

    /// <summary><c>out/emu -drive file=out/guests/GUEST.img,format=raw</c>: no -kernel, so the BIOS boots the disk.</summary>
    private static EmuProcess StartFromDisk(string guest, string name)
    {
        var emu = new EmuProcess(name);
        try
        {
            emu.Start("-drive", $"file={EmuProcess.GuestPath(guest)},format=raw", "-serial", $"file:{emu.SerialPath}",
                "-display", "none", "-qmp", emu.QmpSpec);
            return emu;
        }
        catch
        {
            emu.Dispose();
            throw;
        }
    }

    private static int DistinctColours(FrameBuffer frame) => new HashSet<uint>(frame.Pixels).Count;

    private static int CountOf(string text, string what) => Regex.Count(text, Regex.Escape(what));

    [GeneratedRegex(@"tick (\d+)\r?\n")]
    private static partial Regex TickLine();
}
