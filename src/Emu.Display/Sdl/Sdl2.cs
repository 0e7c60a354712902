using System.Runtime.InteropServices;

namespace Emu.Display.Sdl;

/// <summary>
/// The few SDL2 entry points the console uses, bound by hand to Debian's libsdl2-2.0-0 (SDL_*.h of SDL 2.0).
/// Every call must come from the console's own UI thread.
/// </summary>
internal static unsafe partial class Sdl2
{
    internal const string Library = "libSDL2-2.0.so.0";

    public const uint InitVideo = 0x00000020;
    public const int WindowPosUndefined = 0x1FFF0000;
    public const uint WindowShown = 0x00000004;
    public const uint WindowResizable = 0x00000020;
    public const uint PixelFormatArgb8888 = 0x16362004;
    public const int TextureAccessStreaming = 1;

    public const uint EventQuit = 0x100;
    public const uint EventWindow = 0x200;
    public const uint EventKeyDown = 0x300;
    public const uint EventKeyUp = 0x301;

    public const byte WindowEventExposed = 3;
    public const byte WindowEventResized = 5;
    public const byte WindowEventSizeChanged = 6;
    public const byte WindowEventClose = 14;

    public const string HintRenderScaleQuality = "SDL_RENDER_SCALE_QUALITY";

    /// <summary>
    /// SDL_Event is a 56-byte union; the console reads the common header, the window event's sub-type (offset 12)
    /// and the keyboard event's repeat flag (13) and SDL_Scancode (16).
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 56)]
    public struct Event
    {
        [FieldOffset(0)]
        public uint Type;

        [FieldOffset(12)]
        public byte WindowEvent;

        [FieldOffset(13)]
        public byte KeyRepeat;

        [FieldOffset(16)]
        public int Scancode;
    }

    [LibraryImport(Library, EntryPoint = "SDL_Init")]
    public static partial int Init(uint flags);

    [LibraryImport(Library, EntryPoint = "SDL_Quit")]
    public static partial void Quit();

    [LibraryImport(Library, EntryPoint = "SDL_GetError")]
    private static partial byte* GetErrorNative();

    public static string GetError() => Marshal.PtrToStringUTF8((IntPtr)GetErrorNative()) ?? "";

    [LibraryImport(Library, EntryPoint = "SDL_GetCurrentVideoDriver")]
    private static partial byte* GetCurrentVideoDriverNative();

    public static string GetCurrentVideoDriver() => Marshal.PtrToStringUTF8((IntPtr)GetCurrentVideoDriverNative()) ?? "";

    [LibraryImport(Library, EntryPoint = "SDL_SetHint", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SetHint(string name, string value);

    [LibraryImport(Library, EntryPoint = "SDL_CreateWindow", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr CreateWindow(string title, int x, int y, int w, int h, uint flags);

    [LibraryImport(Library, EntryPoint = "SDL_DestroyWindow")]
    public static partial void DestroyWindow(IntPtr window);

    [LibraryImport(Library, EntryPoint = "SDL_SetWindowTitle", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void SetWindowTitle(IntPtr window, string title);

    [LibraryImport(Library, EntryPoint = "SDL_SetWindowSize")]
    public static partial void SetWindowSize(IntPtr window, int w, int h);

    [LibraryImport(Library, EntryPoint = "SDL_CreateRenderer")]
    public static partial IntPtr CreateRenderer(IntPtr window, int index, uint flags);

    [LibraryImport(Library, EntryPoint = "SDL_DestroyRenderer")]
    public static partial void DestroyRenderer(IntPtr renderer);

    [LibraryImport(Library, EntryPoint = "SDL_CreateTexture")]
    public static partial IntPtr CreateTexture(IntPtr renderer, uint format, int access, int w, int h);

    [LibraryImport(Library, EntryPoint = "SDL_DestroyTexture")]
    public static partial void DestroyTexture(IntPtr texture);

    [LibraryImport(Library, EntryPoint = "SDL_UpdateTexture")]
    public static partial int UpdateTexture(IntPtr texture, IntPtr rect, void* pixels, int pitch);

    [LibraryImport(Library, EntryPoint = "SDL_RenderClear")]
    public static partial int RenderClear(IntPtr renderer);

    [LibraryImport(Library, EntryPoint = "SDL_RenderCopy")]
    public static partial int RenderCopy(IntPtr renderer, IntPtr texture, IntPtr srcRect, IntPtr dstRect);

    [LibraryImport(Library, EntryPoint = "SDL_RenderPresent")]
    public static partial void RenderPresent(IntPtr renderer);

    [LibraryImport(Library, EntryPoint = "SDL_PollEvent")]
    public static partial int PollEvent(Event* ev);

    [StructLayout(LayoutKind.Sequential)]
    public struct Rect
    {
        public int X;
        public int Y;
        public int W;
        public int H;
    }

    [LibraryImport(Library, EntryPoint = "SDL_GetDisplayBounds")]
    public static partial int GetDisplayBounds(int displayIndex, Rect* rect);
}
