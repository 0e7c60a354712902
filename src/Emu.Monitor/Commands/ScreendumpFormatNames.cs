namespace Emu.Monitor.Commands;

/// <summary>The QMP names of <see cref="ScreendumpFormat"/> (QEMU's ImageFormat enum).</summary>
public static class ScreendumpFormatNames
{
    public static string ToQmp(this ScreendumpFormat format) => format == ScreendumpFormat.Png ? "png" : "ppm";

    public static bool TryParse(string name, out ScreendumpFormat format)
    {
        switch (name)
        {
            case "ppm":
                format = ScreendumpFormat.Ppm;
                return true;
            case "png":
                format = ScreendumpFormat.Png;
                return true;
            default:
                format = ScreendumpFormat.Ppm;
                return false;
        }
    }
}
