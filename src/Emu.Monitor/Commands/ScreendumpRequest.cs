namespace Emu.Monitor.Commands;

/// <summary>
/// A screendump to write (QEMU qmp_screendump's arguments). <see cref="Device"/> is null for the default
/// console; <see cref="Head"/> is only given together with a device. The display writes <see cref="FileName"/>;
/// an <see cref="IOException"/> it throws becomes QEMU's "Could not open" error.
/// </summary>
public sealed record ScreendumpRequest(string FileName, ScreendumpFormat Format, string? Device, int? Head);
