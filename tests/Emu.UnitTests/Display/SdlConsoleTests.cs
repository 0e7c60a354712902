using Emu.Display;
using Emu.Display.Sdl;
using Emu.Machine.Devices.Vga;
using Emu.Machine.Io;
using Emu.Machine.Memory;

namespace Emu.UnitTests.Display;

/// <summary>The SDL window under a private Xvfb. One class, so the tests that set DISPLAY never run in parallel.</summary>
public sealed class SdlConsoleTests
{
    [XvfbFact]
    public void WindowShowsTheGuestText()
    {
        using var xvfb = XvfbServer.Start(1024, 768);
        XvfbServer.SetNativeDisplay($":{xvfb.Display}");
        var memory = new AddressSpace();
        var io = new IoBus();
        using var vga = new VgaDevice(memory, io, 1024 * 1024);
        const string text = "Emu on Xvfb 0123";
        for (int i = 0; i < text.Length; i++)
        {
            memory.WriteU16(0xB8000 + (ulong)(((5 * 80) + 10 + i) * 2), (ushort)(text[i] | 0x1E00));
        }

        var renderer = new VgaRenderer(vga);
        int titleCalls = 0;
        using var console = new SdlConsole(renderer, () => $"Emu — test {Interlocked.Increment(ref titleCalls)}", (_, _, _) => { }, () => { });
        console.Start();

        FrameBuffer? screen = null;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            Thread.Sleep(200);
            screen = XwdImage.Read(xvfb.CaptureRoot());
            if (TextOnScreen.Contains(screen, text, [1]))
            {
                break;
            }
        }

        Assert.NotNull(screen);
        Assert.True(TextOnScreen.TryFind(screen, text, out TextMatch match, [1]));
        Assert.Equal(9, match.CellWidth);
        Assert.True(Volatile.Read(ref titleCalls) >= 1);
        console.Stop();
    }

    [Fact]
    public void NoXServerGivesOneLineError()
    {
        XvfbServer.SetNativeDisplay(":4711");
        using var vga = new VgaDevice(new AddressSpace(), new IoBus(), 1024 * 1024);
        using var console = new SdlConsole(new VgaRenderer(vga), () => "Emu", (_, _, _) => { }, () => { });
        var e = Assert.Throws<DisplayException>(console.Start);
        Assert.StartsWith("display: SDL cannot open a window on DISPLAY=:4711: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(4, 0x1E, false)]
    [InlineData(39, 0x0B, false)]
    [InlineData(40, 0x1C, false)]
    [InlineData(44, 0x39, false)]
    [InlineData(82, 0x48, true)]
    [InlineData(88, 0x1C, true)]
    [InlineData(225, 0x2A, false)]
    [InlineData(230, 0x38, true)]
    public void SdlScancodesMapToSetOne(int sdl, int code, bool extended)
    {
        Assert.True(PcScancodes.TryMap(sdl, out int c, out bool e));
        Assert.Equal((code, extended), (c, e));
    }

    [Fact]
    public void UnknownScancodesAreNotMapped()
    {
        Assert.False(PcScancodes.TryMap(0, out _, out _));
        Assert.False(PcScancodes.TryMap(500, out _, out _));
    }
}
