namespace Emu.Monitor.Commands;

/// <summary>QEMU's ImageFormat for screendump; the wire names are "ppm" and "png".</summary>
public enum ScreendumpFormat
{
    Ppm,
    Png,
}
