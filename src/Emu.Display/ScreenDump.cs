namespace Emu.Display;

/// <summary>QMP screendump's file writer (QEMU ui/console.c qmp_screendump): PNG or PPM, written whole or not at all.</summary>
public static class ScreenDump
{
    /// <summary>
    /// Writes the frame to <paramref name="path"/>. The format follows QMP's "format" argument; QEMU's default is PPM.
    /// The file appears atomically (written beside, then renamed), so a reader never sees half a picture.
    /// </summary>
    public static void Write(string path, FrameBuffer frame, ScreenDumpFormat format = ScreenDumpFormat.Ppm)
    {
        string full = Path.GetFullPath(path);
        string temp = full + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            if (format == ScreenDumpFormat.Png)
            {
                PngWriter.Write(file, frame);
            }
            else
            {
                PpmWriter.Write(file, frame);
            }
        }

        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Parses QMP's "format" value ("png" or "ppm"); null means QEMU's default, PPM.</summary>
    public static bool TryParseFormat(string? name, out ScreenDumpFormat format)
    {
        switch (name)
        {
            case null or "ppm":
                format = ScreenDumpFormat.Ppm;
                return true;
            case "png":
                format = ScreenDumpFormat.Png;
                return true;
            default:
                format = ScreenDumpFormat.Ppm;
                return false;
        }
    }
}
