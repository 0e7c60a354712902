using Emu.Machine.Io;

namespace Emu.Machine.Devices.Debug;

/// <summary>
/// QEMU's isa-debug-exit at port 0x501 (iosize 2): writing V ends the emulator with exit status (V &lt;&lt; 1) | 1,
/// so a guest can report success or failure to a test. Reads see an empty bus. No state.
/// </summary>
public sealed class IsaDebugExit(Action<int> exit) : IIoDevice
{
    public const ushort Port = 0x501;

    public void Register(IoBus bus) => bus.Register(Port, 2, this);

    public uint IoRead(ushort port, int size) => size switch { 1 => 0xFFu, 2 => 0xFFFFu, _ => 0xFFFFFFFFu };

    /// <summary>QEMU debug_exit_write: exit((val &lt;&lt; 1) | 1), the value as wide as the guest wrote it.</summary>
    public void IoWrite(ushort port, int size, uint value) => exit((int)((value << 1) | 1));
}
