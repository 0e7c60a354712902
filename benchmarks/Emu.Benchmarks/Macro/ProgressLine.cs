namespace Emu.Benchmarks.Macro;

/// <summary>
/// One self-overwriting status line on stderr while a run is in progress, cleared before results are printed,
/// so the final output holds only results. Silent when stderr is not a terminal (logs stay clean).
/// </summary>
internal static class ProgressLine
{
    private static readonly object Gate = new();
    private static readonly bool Interactive = !Console.IsErrorRedirected;
    private static bool _shown;

    public static void Show(string text)
    {
        if (!Interactive)
        {
            return;
        }

        lock (Gate)
        {
            int width = Math.Max(20, SafeWindowWidth() - 1);
            Console.Error.Write("\r" + (text.Length > width ? text[..width] : text) + "\x1b[K");
            _shown = true;
        }
    }

    public static void Clear()
    {
        lock (Gate)
        {
            if (_shown)
            {
                Console.Error.Write("\r\x1b[K");
                _shown = false;
            }
        }
    }

    private static int SafeWindowWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 100;
        }
        catch (IOException)
        {
            return 100;
        }
    }
}
