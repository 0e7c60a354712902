using Emu.Machine.Io;

namespace Emu.Machine.Devices.Debug;

/// <summary>
/// Bochs/QEMU debug console at port 0xE9 (QEMU hw/char/debugcon.c): every byte written goes to the backend;
/// reads return 0xE9 so a guest can detect the port. It has no state to migrate.
/// </summary>
public sealed class DebugCon(ICharBackend? backend) : IIoDevice
{
    public const ushort Port = 0xE9;

    public void Register(IoBus bus) => bus.Register(Port, 1, this);

    public uint IoRead(ushort port, int size) => Port;

    public void IoWrite(ushort port, int size, uint value) => backend?.Write([(byte)value]);
}
