namespace Emu.UnitTests.Display;

/// <summary>A fact that needs Xvfb and xwd (Debian xvfb, x11-apps); skipped, naming what is missing, without them.</summary>
public sealed class XvfbFactAttribute : FactAttribute
{
    public const string XvfbPath = "/usr/bin/Xvfb";
    public const string XwdPath = "/usr/bin/xwd";

    public XvfbFactAttribute()
    {
        if (!File.Exists(XvfbPath) || !File.Exists(XwdPath))
        {
            Skip = $"needs {XvfbPath} and {XwdPath} (apt-get install xvfb x11-apps)";
        }
    }
}
