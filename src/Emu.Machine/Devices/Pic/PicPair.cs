using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Pic;

/// <summary>
/// The PC's two cascaded 8259As (master at 0x20, slave at 0xA0 on the master's IRQ 2) and the ELCR at
/// 0x4D0/0x4D1. Devices on any thread raise lines through <see cref="SetIrq"/>; the vCPU reads
/// <see cref="HasPendingInterrupt"/> (a volatile flag recomputed on every change) and acknowledges.
/// </summary>
public sealed class PicPair : IInterruptController, IIrqLines, IIoDevice
{
    private volatile bool _intr;

    public PicPair()
    {
        Master = new Pic8259(this, isMaster: true);
        Slave = new Pic8259(this, isMaster: false);
        StateSections = [Master, Slave];
    }

    public Pic8259 Master { get; }

    public Pic8259 Slave { get; }

    /// <summary>The two "i8259" sections, instance 0 (master) and 1 (slave).</summary>
    public IReadOnlyList<IVmStateDevice> StateSections { get; }

    public bool HasPendingInterrupt => _intr;

    /// <summary>Guards both chips: device threads (serial, keyboard) raise lines while the vCPU acknowledges.</summary>
    internal object Lock { get; } = new();

    public void Register(IoBus bus)
    {
        bus.Register(0x20, 2, Master);
        bus.Register(0xA0, 2, Slave);
        bus.Register(0x4D0, 2, this);
    }

    /// <summary>ISA IRQ 0–15: 0–7 on the master, 8–15 on the slave.</summary>
    public void SetIrq(int irq, bool level)
    {
        if ((uint)irq > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(irq), $"pic: irq {irq} is outside 0 to 15");
        }

        lock (Lock)
        {
            (irq < 8 ? Master : Slave).SetIrqLine(irq & 7, level);
        }
    }

    /// <summary>QEMU pic_read_irq: INTA. With nothing pending it returns the spurious IRQ 7 (or 15) vector.</summary>
    public int AcknowledgeInterrupt()
    {
        lock (Lock)
        {
            int irq = Master.GetIrq();
            if (irq < 0)
            {
                return Master.Vector(7);
            }

            int vector;
            if (irq == 2)
            {
                int slaveIrq = Slave.GetIrq();
                if (slaveIrq >= 0)
                {
                    Slave.Intack(slaveIrq);
                }
                else
                {
                    slaveIrq = 7;
                }

                vector = Slave.Vector(slaveIrq);
            }
            else
            {
                vector = Master.Vector(irq);
            }

            Master.Intack(irq);
            return vector;
        }
    }

    /// <summary>Both chips to their power-on state (system_reset), ELCR included.</summary>
    public void Reset()
    {
        lock (Lock)
        {
            Slave.Reset();
            Master.Reset();
        }
    }

    /// <summary>ELCR1 (0x4D0, master) and ELCR2 (0x4D1, slave).</summary>
    public uint IoRead(ushort port, int size)
    {
        lock (Lock)
        {
            return (port & 1) == 0 ? Master.Elcr : Slave.Elcr;
        }
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        lock (Lock)
        {
            if ((port & 1) == 0)
            {
                Master.Elcr = (byte)value;
            }
            else
            {
                Slave.Elcr = (byte)value;
            }
        }
    }

    /// <summary>Publishes the master's INT output; called with <see cref="Lock"/> held after any change.</summary>
    internal void RecomputeIntr() => _intr = Master.GetIrq() >= 0;
}
