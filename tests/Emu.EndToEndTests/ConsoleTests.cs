using System.Diagnostics;
using System.Text.Json.Nodes;
using Emu.Display;
using Emu.EndToEndTests.Display;
using Emu.EndToEndTests.Support;
using Emu.UnitTests.Display;

namespace Emu.EndToEndTests;

/// <summary>
/// The SDL console of a real emu process under a private Xvfb: the window shows the guest's text as the QMP
/// screendump does, its title follows the run state and a migration, and without a display it refuses in one line.
/// </summary>
public sealed class ConsoleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>Text modes are 720x400: 80x25 cells of 9x16 pixels.</summary>
    private const int TextWidth = 720;
    private const int TextHeight = 400;

    /// <summary>The window adds the status strip under the guest's picture.</summary>
    private const int WindowHeight = TextHeight + Emu.Display.StatusStrip.Height;

    [X11ToolFact("xwininfo")]
    public void WindowAndScreendumpShowTheGuestText()
    {
        using XvfbServer xvfb = XvfbServer.Start(1024, 768);
        using EmuProcess emu = StartClockWithSdl(xvfb, "console");
        emu.WaitForSerial("tick", 2, Timeout);
        using QmpClient qmp = emu.ConnectQmp();

        FrameBuffer dump = Screendump(qmp, emu, "clock.png");
        Assert.Equal((TextWidth, TextHeight), (dump.Width, dump.Height));
        Assert.True(TextOnScreen.TryFindAt(dump, "Emu clock", 1, 1, out TextMatch title), "screendump: no 'Emu clock'");
        Assert.True(TextOnScreen.TryFindAt(dump, "counter", 1, 1, out TextMatch counter), "screendump: no 'counter'");
        Assert.Equal(9, title.CellWidth);

        XWindow window = X11Client.WaitForWindow(xvfb.Display, w => w.Title == "Emu — running", Timeout, emu.Diagnostics);
        Assert.Equal((TextWidth, WindowHeight), (window.Width, window.Height));

        // The window opens at the guest's resolution; the screenshot is the whole X screen, so the text sits at
        // the window's offset, at scale 1, in the same cells as in the screendump.
        FrameBuffer screen = WaitForTextOnScreen(xvfb, "Emu clock", TextOnScreen.DefaultScales, emu);
        Assert.True(TextOnScreen.TryFind(screen, "Emu clock", out TextMatch onScreenTitle));
        Assert.True(TextOnScreen.TryFind(screen, "counter", out TextMatch onScreenCounter));
        Assert.Equal(1, onScreenTitle.ScaleX);
        Assert.Equal((counter.X - title.X, counter.Y - title.Y), (onScreenCounter.X - onScreenTitle.X, onScreenCounter.Y - onScreenTitle.Y));
    }

    [X11ToolFact("xwininfo", "xdotool")]
    public void ResizedWindowScalesTheGuestText()
    {
        using XvfbServer xvfb = XvfbServer.Start(1600, 1000);
        using EmuProcess emu = StartClockWithSdl(xvfb, "scaled");
        emu.WaitForSerial("tick", Timeout);
        XWindow window = X11Client.WaitForWindow(xvfb.Display, w => w.Title.StartsWith("Emu", StringComparison.Ordinal), Timeout, emu.Diagnostics);

        X11Client.Run(xvfb.Display, "xdotool", "windowsize", "--sync", window.Id, $"{TextWidth * 2}", $"{WindowHeight * 2}");

        FrameBuffer screen = WaitForTextOnScreen(xvfb, "counter", [2], emu);
        Assert.True(TextOnScreen.TryFindAt(screen, "Emu clock", 2, 2, out _), "x screenshot: no 'Emu clock' at scale 2");
        Assert.False(TextOnScreen.TryFindAt(screen, "counter", 1, 1, out _), "x screenshot: 'counter' still at scale 1 after the resize");
    }

    [X11ToolFact("xwininfo")]
    public void TitlesFollowAMigrationBetweenTwoWindows()
    {
        using XvfbServer sourceX = XvfbServer.Start(1024, 768);
        using XvfbServer destinationX = XvfbServer.Start(1024, 768);
        int port = Loopback.FreeTcpPort();
        using EmuProcess source = StartClockWithSdl(sourceX, "src");
        using EmuProcess destination = StartClockWithSdl(destinationX, "dst", "-incoming", $"tcp:127.0.0.1:{port}");
        source.WaitForSerial("tick", Timeout);
        X11Client.WaitForWindow(destinationX.Display, w => w.Title == "Emu — waiting for an incoming migration", Timeout, destination.Diagnostics);
        X11Client.WaitForWindow(sourceX.Display, w => w.Title == "Emu — running", Timeout, source.Diagnostics);

        using QmpClient qmp = source.ConnectQmp();
        qmp.Execute("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 107374182400L });
        qmp.Execute("migrate", new { uri = $"tcp:127.0.0.1:{port}" });
        WaitForMigration(qmp, source);

        X11Client.WaitForWindow(sourceX.Display, w => w.Title == "Emu — migrated away (postmigrate)", Timeout, source.Diagnostics);
        X11Client.WaitForWindow(destinationX.Display, w => w.Title == "Emu — running", Timeout, destination.Diagnostics);
        WaitForTextOnScreen(destinationX, "Emu clock", [1], destination);
        string ticks = destination.WaitForSerial("tick", 2, Timeout);
        Assert.DoesNotContain("clock: running", ticks);
    }

    [Fact]
    public void SdlWithoutDisplayFailsWithOneLine()
    {
        using var emu = new EmuProcess("nodisplay");
        emu.EnvironmentOverrides["DISPLAY"] = null;
        emu.EnvironmentOverrides["WAYLAND_DISPLAY"] = null;
        emu.EnvironmentOverrides["SDL_VIDEODRIVER"] = null;
        emu.Start("-drive", $"file={EmuProcess.GuestPath("clock")},format=raw", "-display", "sdl", "-serial", "none");
        Assert.Equal(1, emu.WaitForExit(Timeout));
        Assert.Equal("emu: display: SDL cannot open a window: DISPLAY is not set (use -display none)", emu.StandardError.Trim());
    }

    /// <summary>clock.img through the BIOS with <c>-display sdl</c> on <paramref name="xvfb"/>, serial to a file, QMP on a unix socket.</summary>
    internal static EmuProcess StartClockWithSdl(XvfbServer xvfb, string name, params string[] extraArgs)
    {
        var emu = new EmuProcess(name);
        emu.EnvironmentOverrides["DISPLAY"] = $":{xvfb.Display}";
        emu.EnvironmentOverrides["WAYLAND_DISPLAY"] = null;
        emu.EnvironmentOverrides["SDL_VIDEODRIVER"] = null;
        try
        {
            emu.Start(["-drive", $"file={EmuProcess.GuestPath("clock")},format=raw", "-display", "sdl",
                "-serial", $"file:{emu.SerialPath}", "-qmp", emu.QmpSpec, .. extraArgs]);
            return emu;
        }
        catch
        {
            emu.Dispose();
            throw;
        }
    }

    /// <summary>QMP screendump as PNG into the process's directory, read back.</summary>
    internal static FrameBuffer Screendump(QmpClient qmp, EmuProcess emu, string fileName)
    {
        string path = Path.Combine(emu.Directory, fileName);
        qmp.Execute("screendump", new { filename = path, format = "png" });
        return PngImage.Read(File.ReadAllBytes(path));
    }

    /// <summary>Takes X screenshots until <paramref name="text"/> shows at one of <paramref name="scales"/> (the window repaints on its own tick).</summary>
    internal static FrameBuffer WaitForTextOnScreen(XvfbServer xvfb, string text, double[] scales, EmuProcess emu)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            FrameBuffer screen = XwdImage.Read(xvfb.CaptureRoot());
            if (TextOnScreen.Contains(screen, text, scales))
            {
                return screen;
            }

            if (clock.Elapsed > Timeout || emu.HasExited)
            {
                throw new TimeoutException($"x11: '{text}' not on display :{xvfb.Display} within {Timeout.TotalSeconds} s\n{emu.Diagnostics()}");
            }

            Thread.Sleep(250);
        }
    }

    private static void WaitForMigration(QmpClient qmp, EmuProcess source)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string status = qmp.Execute("query-migrate")["status"]?.GetValue<string>() ?? "";
            if (status == "completed")
            {
                return;
            }

            Assert.True(status is "setup" or "active" or "device" or "pre-switchover", $"migration ended {status}\n{source.Diagnostics()}");
            Assert.True(clock.Elapsed < Timeout, $"migration still {status} after {Timeout.TotalSeconds} s\n{source.Diagnostics()}");
            Thread.Sleep(100);
        }
    }
}
