using Emu.Machine.Devices.Vga;
using Emu.Machine.Memory;

namespace Emu.Display;

/// <summary>
/// Draws the VGA's scanout into a <see cref="FrameBuffer"/> (QEMU vga_update_display and the vga_draw_* family):
/// 80x25 text with attributes, blink and the cursor, 16-colour planar, 256-colour (mode 13h) and the VBE modes.
/// Only what changed is redrawn: vram pages written since the last frame (the VGA dirty client), or everything
/// after a register write or a mode change.
/// </summary>
/// <remarks>Thread-safe: <see cref="Update"/> and <see cref="Snapshot"/> serialize on one lock.</remarks>
public sealed unsafe partial class VgaRenderer
{
    /// <summary>Half-periods of the cursor and character blink: 16 and 32 frames of a 60 Hz VGA.</summary>
    public const int CursorBlinkMs = 267;
    public const int CharBlinkMs = 533;

    internal const int BlankWidth = 640;
    internal const int BlankHeight = 480;

    private readonly VgaDevice _vga;
    private readonly Lock _lock = new();
    private readonly VgaScanout _scanout = new();
    private readonly ulong[] _dirty;
    private readonly byte* _vram;
    private readonly int _vramBytes;

    private FrameBuffer _frame = new(BlankWidth, BlankHeight);
    private VgaScanoutKind _lastKind = (VgaScanoutKind)(-1);
    private ulong _lastGeneration;
    private bool _lastCursorOn;
    private bool _lastBlinkOn;

    public VgaRenderer(VgaDevice vga)
    {
        _vga = vga;
        _vram = vga.Vram.HostPointer;
        _vramBytes = (int)vga.Vram.SizeBytes;
        _dirty = new ulong[(vga.Vram.PageCount + 63) / 64];
    }

    /// <summary>The frame <see cref="Update"/> draws into; replaced (new size) when the mode changes.</summary>
    public FrameBuffer Frame
    {
        get
        {
            lock (_lock)
            {
                return _frame;
            }
        }
    }

    /// <summary>
    /// Brings <see cref="Frame"/> up to date and says whether any pixel (or the size) changed. Consumes the VGA
    /// dirty bits, so one renderer per display. <paramref name="nowMs"/> drives blinking (any monotonic clock).
    /// </summary>
    public bool Update(long nowMs)
    {
        lock (_lock)
        {
            _vga.CaptureScanout(_scanout);
            _vga.Vram.DirtyLog.Sync(DirtyClient.Vga, _dirty);
            bool full = PrepareFrame();
            bool changed = Draw(_frame, nowMs, full);
            Array.Clear(_dirty);
            return changed || full;
        }
    }

    /// <summary>A full render into a new frame, leaving the dirty bits alone (for QMP screendump).</summary>
    public FrameBuffer Snapshot(long nowMs)
    {
        lock (_lock)
        {
            var scanout = new VgaScanout();
            _vga.CaptureScanout(scanout);
            var frame = scanout.Kind == VgaScanoutKind.Blank
                ? new FrameBuffer(BlankWidth, BlankHeight)
                : new FrameBuffer(scanout.Width, scanout.Height);
            DrawScanout(scanout, frame, nowMs, full: true);
            return frame;
        }
    }

    /// <summary>Resizes on a mode change; true when everything must be drawn.</summary>
    private bool PrepareFrame()
    {
        VgaScanout s = _scanout;
        int width = s.Kind == VgaScanoutKind.Blank ? BlankWidth : s.Width;
        int height = s.Kind == VgaScanoutKind.Blank ? BlankHeight : s.Height;
        bool full = s.Kind != _lastKind || s.RegisterGeneration != _lastGeneration;
        if (width != _frame.Width || height != _frame.Height)
        {
            _frame = new FrameBuffer(width, height);
            full = true;
        }

        _lastKind = s.Kind;
        _lastGeneration = s.RegisterGeneration;
        return full;
    }

    private bool Draw(FrameBuffer frame, long nowMs, bool full)
    {
        if (_scanout.Kind == VgaScanoutKind.Text)
        {
            bool cursorOn = (nowMs / CursorBlinkMs % 2) == 0;
            bool blinkOn = (nowMs / CharBlinkMs % 2) == 0;
            bool blinkChanged = (cursorOn != _lastCursorOn && _scanout.CursorOffset >= 0)
                || (blinkOn != _lastBlinkOn && _scanout.BlinkEnabled);
            _lastCursorOn = cursorOn;
            _lastBlinkOn = blinkOn;
            full |= blinkChanged;
        }

        return DrawScanout(_scanout, frame, nowMs, full);
    }

    private bool DrawScanout(VgaScanout s, FrameBuffer frame, long nowMs, bool full)
    {
        switch (s.Kind)
        {
            case VgaScanoutKind.Text:
                return DrawText(s, frame, nowMs, full);
            case VgaScanoutKind.Planar16:
            case VgaScanoutKind.Indexed256:
            case VgaScanoutKind.Vbe:
                return DrawGraphics(s, frame, full);
            default:
                if (full)
                {
                    Array.Clear(frame.Pixels);
                }

                return full;
        }
    }

    /// <summary>True when a page in [offset, offset + length) of vram was written since the last frame.</summary>
    private bool AnyDirty(long offset, long length)
    {
        if (length <= 0)
        {
            return false;
        }

        long first = Math.Max(0, offset) >> RamBlock.PageShift;
        long last = Math.Min(_vramBytes - 1, offset + length - 1) >> RamBlock.PageShift;
        for (long p = first; p <= last; p++)
        {
            if ((_dirty[p >> 6] & (1UL << (int)(p & 63))) != 0)
            {
                return true;
            }
        }

        return false;
    }
}
