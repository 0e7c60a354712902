namespace Emu.Machine.Io;

/// <summary>A device on the port I/O bus. Sizes are 1, 2 or 4 bytes.</summary>
public interface IIoDevice
{
    uint IoRead(ushort port, int size);

    void IoWrite(ushort port, int size, uint value);
}
