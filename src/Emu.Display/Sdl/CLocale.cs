using System.Runtime.InteropServices;

namespace Emu.Display.Sdl;

/// <summary>
/// The C library's locale, which .NET leaves at "C". SDL2's X11 backend (SDL_X11_SetWindowTitle) converts the
/// title with XmbTextListToTextProperty, which reads it in the C locale's character set: in "C" a UTF-8 title
/// such as "Emu — running" lands in WM_NAME as Latin-1 mojibake and _NET_WM_NAME is not updated at all, so the
/// window manager keeps showing a stale title.
/// </summary>
internal static partial class CLocale
{
    /// <summary>glibc's LC_CTYPE category number.</summary>
    internal const int LcCtype = 0;

    /// <summary>Makes multibyte conversions UTF-8 (C.UTF-8 is built into glibc 2.35+); false if refused.</summary>
    public static bool UseUtf8Ctype() => SetLocale(LcCtype, "C.UTF-8") != IntPtr.Zero;

    [LibraryImport("libc", EntryPoint = "setlocale", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr SetLocale(int category, string locale);
}
