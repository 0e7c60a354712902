namespace Emu.Machine.Devices.Pci;

/// <summary>
/// The PIIX3 PCI-to-ISA bridge at 00:01.0 (8086:7000, QEMU's "PIIX3"), a multi-function device: its PIRQ route
/// registers 0x60–0x63 send PCI interrupts A–D to an ISA IRQ of the 8259 pair (bit 7 set: not routed). The ELCR
/// that makes those lines level-triggered is at ports 0x4D0/0x4D1 (the 8259 pair's).
/// </summary>
public sealed class Piix3IsaBridge : PciFunction
{
    public const int PirqRouteA = 0x60;

    private readonly IIrqLines _isa;
    private readonly bool[] _pirqLevels = new bool[4];

    public Piix3IsaBridge(IIrqLines isa)
        : base("PIIX3", device: 1, function: 0, BuildConfig())
    {
        _isa = isa;
    }

    private static PciConfigSpace BuildConfig()
    {
        var c = new PciConfigSpace(0x8086, 0x7000, revision: 0x00, classCode: 0x06, subClass: 0x01, progIf: 0x00, headerType: 0x80);
        for (int i = 0; i < 4; i++)
        {
            c.SetU8(PirqRouteA + i, 0x80);
        }

        c.Writable(PirqRouteA, 4, 0x8F8F_8F8F);
        return c;
    }

    /// <summary>The ISA IRQ PIRQ <paramref name="pirq"/> (0 = A … 3 = D) is routed to, or -1.</summary>
    public int RouteOf(int pirq)
    {
        byte r = Config.U8(PirqRouteA + pirq);
        return (r & 0x80) != 0 || (r & 0xF) is < 3 or 13 ? -1 : r & 0xF;
    }

    /// <summary>A PCI device drives PIRQ <paramref name="pirq"/>: the routed ISA line follows (level, active high on the ISA side).</summary>
    public void SetPirq(int pirq, bool level)
    {
        _pirqLevels[pirq] = level;
        DriveRoutedLine(pirq);
    }

    protected override void ConfigWritten(int offset, int size)
    {
        if (Touches(offset, size, PirqRouteA, 4))
        {
            // A route changed: drive every routed line from the PIRQs that now feed it.
            for (int pirq = 0; pirq < 4; pirq++)
            {
                DriveRoutedLine(pirq);
            }
        }
    }

    /// <summary>The ISA line PIRQ <paramref name="pirq"/> is routed to follows every PIRQ routed there (wired-OR).</summary>
    private void DriveRoutedLine(int pirq)
    {
        int irq = RouteOf(pirq);
        if (irq >= 0)
        {
            _isa.SetIrq(irq, AnyPirqOn(irq));
        }
    }

    private bool AnyPirqOn(int irq)
    {
        for (int pirq = 0; pirq < 4; pirq++)
        {
            if (_pirqLevels[pirq] && RouteOf(pirq) == irq)
            {
                return true;
            }
        }

        return false;
    }
}
