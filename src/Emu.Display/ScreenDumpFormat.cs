namespace Emu.Display;

/// <summary>The file formats of QMP screendump's "format" argument (QEMU ImageFormat: "ppm", "png").</summary>
public enum ScreenDumpFormat
{
    Ppm = 0,
    Png = 1,
}
