using Emu.UnitTests.Display;

namespace Emu.EndToEndTests.Display;

/// <summary>
/// A fact that needs Xvfb and xwd plus the named X client tools (<c>xwininfo</c>, <c>xdotool</c>); skipped, naming
/// the Debian packages to install, when one is missing.
/// </summary>
public sealed class X11ToolFactAttribute : FactAttribute
{
    public X11ToolFactAttribute(params string[] tools)
    {
        var missing = new List<string>();
        foreach (string path in (string[])[XvfbFactAttribute.XvfbPath, XvfbFactAttribute.XwdPath])
        {
            if (!File.Exists(path))
            {
                missing.Add(path);
            }
        }

        foreach (string tool in tools)
        {
            if (!File.Exists(X11Client.ToolPath(tool)))
            {
                missing.Add(X11Client.ToolPath(tool));
            }
        }

        if (missing.Count > 0)
        {
            Skip = $"needs {string.Join(", ", missing)} (apt-get install xvfb x11-apps x11-utils xdotool)";
        }
    }
}
