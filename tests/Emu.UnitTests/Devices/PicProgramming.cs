using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

/// <summary>How a PC's firmware programs an 8259: ICW1 (edge, cascade, ICW4 follows), the vector base, ICW3, 8086 mode.</summary>
internal static class PicProgramming
{
    /// <summary>The chip at <paramref name="port"/> (0x20 master, 0xA0 slave); ICW3 is 0x04 on the master, 0x02 on the slave.</summary>
    public static void Init(IoBus bus, ushort port, byte vectorBase, byte icw3)
    {
        bus.Write(port, 1, 0x11);
        bus.Write((ushort)(port + 1), 1, vectorBase);
        bus.Write((ushort)(port + 1), 1, icw3);
        bus.Write((ushort)(port + 1), 1, 0x01);
    }
}
