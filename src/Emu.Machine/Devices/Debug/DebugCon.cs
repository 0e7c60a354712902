using Emu.Machine.Io;

namespace Emu.Machine.Devices.Debug;

/// <summary>
/// Bochs/QEMU debug console (QEMU hw/char/debugcon.c), at 0xE9 unless placed elsewhere (SeaBIOS as Debian builds
/// it logs to 0x402): every byte written goes to the backend; reads return 0xE9 (QEMU's readback) so a guest can
/// detect the port. It has no state to migrate.
/// </summary>
public sealed class DebugCon(ICharBackend? backend, ushort port = DebugCon.Port) : IIoDevice
{
    public const ushort Port = 0xE9;

    public void Register(IoBus bus) => bus.Register(port, 1, this);

    public uint IoRead(ushort port, int size) => Port;

    public void IoWrite(ushort port, int size, uint value) => backend?.Write([(byte)value]);
}
