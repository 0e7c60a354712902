using System.Diagnostics;
using Serilog;

namespace Emu.Display.Sdl;

/// <summary>
/// The <c>-display sdl</c> window (QEMU ui/sdl2.c): its own UI thread "display/sdl" owns every SDL call, shows
/// the VGA frame scaled to the window, forwards keys as PC set-1 scancodes and keeps the title up to date.
/// </summary>
/// <remarks>
/// Per tick (20 ms, 50 Hz): drain SDL events; <see cref="VgaRenderer.Update"/>; upload and present only when the
/// frame changed or the window was exposed or resized; refresh the title every 250 ms.
/// </remarks>
public sealed unsafe class SdlConsole : IDisposable
{
    internal const int TickMs = 20;
    internal const int TitleRefreshMs = 250;

    private static readonly ILogger Log = Serilog.Log.ForContext<SdlConsole>();

    private readonly VgaRenderer _renderer;
    private readonly Func<string> _title;
    private readonly Func<string[]>? _status;
    private readonly int? _slot;
    private FrameBuffer? _composed;
    private string[] _shownStatus = [];
    private readonly Action<int, bool, bool> _key;
    private readonly Action _quit;
    private readonly ManualResetEventSlim _started = new();
    private volatile bool _stopping;
    private Thread? _thread;
    private string? _startError;

    /// <param name="renderer">The VGA renderer this window shows (the console consumes its dirty bits).</param>
    /// <param name="title">Called on the UI thread a few times a second, e.g. "Emu — running".</param>
    /// <param name="key">(set-1 make code, E0-extended, down) for each key press, repeat and release.</param>
    /// <param name="quit">The window's close button.</param>
    /// <param name="status">The status strip's lines under the picture (<see cref="StatusStrip"/>); null for none.</param>
    /// <param name="slot">Where on the screen: slot N opens N window widths from the left of display 0 (side by side without a window manager); null lets the window manager place it.</param>
    public SdlConsole(VgaRenderer renderer, Func<string> title, Action<int, bool, bool> key, Action quit, Func<string[]>? status = null, int? slot = null)
    {
        _renderer = renderer;
        _title = title;
        _status = status;
        _slot = slot;
        _key = key;
        _quit = quit;
    }

    /// <summary>
    /// Opens the window on a new UI thread and returns once it is up. Throws <see cref="DisplayException"/> with a
    /// one-line reason when SDL cannot open one (no DISPLAY, no X server, no libSDL2).
    /// </summary>
    public void Start()
    {
        if (_thread != null)
        {
            throw new InvalidOperationException("display: the SDL console is already started");
        }

        _thread = new Thread(Run) { Name = "display/sdl", IsBackground = true };
        _thread.Start();
        _started.Wait();
        if (_startError != null)
        {
            _thread.Join();
            throw new DisplayException(_startError);
        }
    }

    /// <summary>Closes the window and waits for the UI thread to end.</summary>
    public void Stop()
    {
        _stopping = true;
        if (_thread != null && _thread != Thread.CurrentThread)
        {
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop();
        _started.Dispose();
    }

    private void Run()
    {
        IntPtr window = IntPtr.Zero, sdlRenderer = IntPtr.Zero, texture = IntPtr.Zero;
        try
        {
            if (!TryOpen(out window, out sdlRenderer))
            {
                return;
            }

            Loop(window, sdlRenderer, ref texture);
        }
        finally
        {
            if (texture != IntPtr.Zero)
            {
                Sdl2.DestroyTexture(texture);
            }

            if (sdlRenderer != IntPtr.Zero)
            {
                Sdl2.DestroyRenderer(sdlRenderer);
            }

            if (window != IntPtr.Zero)
            {
                Sdl2.DestroyWindow(window);
            }

            if (_startError == null)
            {
                Sdl2.Quit();
            }

            _started.Set();
        }
    }

    private bool TryOpen(out IntPtr window, out IntPtr sdlRenderer)
    {
        window = sdlRenderer = IntPtr.Zero;

        // With neither X11 nor Wayland named there is no window to open; probing anyway only makes SDL's Wayland
        // backend print its own XDG_RUNTIME_DIR complaint before the one line the user should see.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY"))
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY"))
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SDL_VIDEODRIVER")))
        {
            _startError = "display: SDL cannot open a window: DISPLAY is not set (use -display none)";
            return false;
        }

        try
        {
            // Window titles are UTF-8 ("Emu — running"); SDL's X11 backend converts them in the C locale.
            if (!CLocale.UseUtf8Ctype())
            {
                Log.Warning("setlocale(LC_CTYPE, C.UTF-8) failed; non-ASCII window titles may show garbled");
            }

            bool initialized = Sdl2.Init(Sdl2.InitVideo) == 0;
            string driver = initialized ? Sdl2.GetCurrentVideoDriver() : "";

            // Without a reachable X server SDL quietly falls back to its invisible "offscreen" or "dummy" drivers;
            // a window nobody can see is an error, unless the user asked for that driver by name.
            bool invisible = driver is "offscreen" or "dummy" && Environment.GetEnvironmentVariable("SDL_VIDEODRIVER") != driver;
            if (!initialized || invisible)
            {
                string reason = initialized ? $"only the invisible '{driver}' video driver is available" : Sdl2.GetError();
                if (initialized)
                {
                    Sdl2.Quit();
                }

                string display = Environment.GetEnvironmentVariable("DISPLAY") ?? "";
                _startError = display.Length == 0
                    ? $"display: SDL cannot open a window: {reason} (DISPLAY is not set; use -display none)"
                    : $"display: SDL cannot open a window on DISPLAY={display}: {reason}";
                return false;
            }
        }
        catch (DllNotFoundException e)
        {
            _startError = $"display: libSDL2-2.0.so.0 is not installed (apt-get install libsdl2-2.0-0): {e.Message}";
            return false;
        }

        // Nearest-neighbour scaling keeps text crisp, and screenshots of the window comparable pixel for pixel.
        Sdl2.SetHint(Sdl2.HintRenderScaleQuality, "0");
        // Open at the guest's current resolution (the first update sizes the frame).
        _renderer.Update(0);
        FrameBuffer frame = _renderer.Frame;
        (int x, int y) = Placement(frame.Width);
        window = Sdl2.CreateWindow(_title(), x, y, frame.Width, frame.Height + StripHeight, Sdl2.WindowShown | Sdl2.WindowResizable);
        sdlRenderer = window == IntPtr.Zero ? IntPtr.Zero : Sdl2.CreateRenderer(window, -1, 0);
        if (sdlRenderer == IntPtr.Zero)
        {
            _startError = $"display: SDL cannot create a window: {Sdl2.GetError()}";
            Sdl2.Quit();
            return false;
        }

        Log.Information("SDL window open at {Width}x{Height}", frame.Width, frame.Height);
        _started.Set();
        return true;
    }

    private int StripHeight => _status == null ? 0 : StatusStrip.Height;

    /// <summary>The window's position: slot N sits N widths (plus a gap) right of display 0's left edge, kept on screen.</summary>
    private (int X, int Y) Placement(int width)
    {
        Sdl2.Rect bounds;
        if (_slot is not { } slot || Sdl2.GetDisplayBounds(0, &bounds) != 0)
        {
            return (Sdl2.WindowPosUndefined, Sdl2.WindowPosUndefined);
        }

        const int gap = 8;
        int x = bounds.X + (slot * (width + gap));
        return (Math.Max(bounds.X, Math.Min(x, bounds.X + bounds.W - width)), bounds.Y);
    }

    /// <summary>The guest's frame with the status strip under it, when there is a strip; true when it changed.</summary>
    private FrameBuffer Compose(FrameBuffer frame, bool frameChanged, long now, ref long lastStatusMs, out bool changed)
    {
        changed = frameChanged;
        if (_status == null)
        {
            return frame;
        }

        if (_composed == null || _composed.Width != frame.Width || _composed.Height != frame.Height + StatusStrip.Height)
        {
            _composed = new FrameBuffer(frame.Width, frame.Height + StatusStrip.Height);
            _shownStatus = [];
            frameChanged = true;
        }

        if (frameChanged)
        {
            frame.Pixels.CopyTo(_composed.Pixels, 0);
            changed = true;
        }

        if (now - lastStatusMs >= TitleRefreshMs)
        {
            lastStatusMs = now;
            string[] status = _status();
            if (!status.AsSpan().SequenceEqual(_shownStatus))
            {
                _shownStatus = status;
                StatusStrip.Draw(_composed, frame.Height, status);
                changed = true;
            }
        }

        return _composed;
    }

    private void Loop(IntPtr window, IntPtr sdlRenderer, ref IntPtr texture)
    {
        FrameBuffer initial = _renderer.Frame;
        int windowWidth = initial.Width, windowHeight = initial.Height + StripHeight;
        long lastStatusMs = -TitleRefreshMs;
        int textureWidth = 0, textureHeight = 0;
        string lastTitle = "";
        long lastTitleMs = -TitleRefreshMs;
        var clock = Stopwatch.StartNew();
        while (!_stopping)
        {
            bool present = PumpEvents();
            long now = clock.ElapsedMilliseconds;
            bool guestChanged = _renderer.Update(now);
            FrameBuffer frame = Compose(_renderer.Frame, guestChanged, now, ref lastStatusMs, out bool changed);
            if (frame.Width != textureWidth || frame.Height != textureHeight)
            {
                if (texture != IntPtr.Zero)
                {
                    Sdl2.DestroyTexture(texture);
                }

                texture = Sdl2.CreateTexture(sdlRenderer, Sdl2.PixelFormatArgb8888, Sdl2.TextureAccessStreaming, frame.Width, frame.Height);
                if (frame.Width != windowWidth || frame.Height != windowHeight)
                {
                    // The guest changed mode: follow its resolution, as QEMU's sdl2 console does.
                    Sdl2.SetWindowSize(window, frame.Width, frame.Height);
                    windowWidth = frame.Width;
                    windowHeight = frame.Height;
                }

                textureWidth = frame.Width;
                textureHeight = frame.Height;
                changed = true;
            }

            if (changed && texture != IntPtr.Zero)
            {
                fixed (uint* pixels = frame.Pixels)
                {
                    Sdl2.UpdateTexture(texture, IntPtr.Zero, pixels, frame.Width * 4);
                }
            }

            if ((changed || present) && texture != IntPtr.Zero)
            {
                Sdl2.RenderClear(sdlRenderer);
                Sdl2.RenderCopy(sdlRenderer, texture, IntPtr.Zero, IntPtr.Zero);
                Sdl2.RenderPresent(sdlRenderer);
            }

            if (now - lastTitleMs >= TitleRefreshMs)
            {
                lastTitleMs = now;
                string title = _title();
                if (title != lastTitle)
                {
                    Sdl2.SetWindowTitle(window, title);
                    lastTitle = title;
                }
            }

            Thread.Sleep(TickMs);
        }
    }

    /// <summary>Handles pending events; true when the window needs repainting.</summary>
    private bool PumpEvents()
    {
        bool repaint = false;
        Sdl2.Event ev;
        while (Sdl2.PollEvent(&ev) != 0)
        {
            switch (ev.Type)
            {
                case Sdl2.EventQuit:
                    _quit();
                    break;
                case Sdl2.EventWindow:
                    if (ev.WindowEvent == Sdl2.WindowEventClose)
                    {
                        _quit();
                    }
                    else if (ev.WindowEvent is Sdl2.WindowEventExposed or Sdl2.WindowEventResized or Sdl2.WindowEventSizeChanged)
                    {
                        repaint = true;
                    }

                    break;
                case Sdl2.EventKeyDown or Sdl2.EventKeyUp:
                    if (PcScancodes.TryMap(ev.Scancode, out int code, out bool extended))
                    {
                        _key(code, extended, ev.Type == Sdl2.EventKeyDown);
                    }

                    break;
            }
        }

        return repaint;
    }
}
