namespace Emu.Machine.Devices.Ata;

/// <summary>A disk image the ATA controller cannot open; <see cref="Exception.InnerException"/> is the host's reason.</summary>
public sealed class DiskImageException(string message, Exception inner) : IOException(message, inner);
