namespace Emu.Machine.Devices.Pci;

/// <summary>
/// The VGA as QEMU's <c>-vga std</c> at 00:02.0 (1234:1111, class 0x0300): BAR0 is the 16 MiB prefetchable linear
/// framebuffer, which follows the BAR while memory decode is on. It powers up at 0xE0000000 (Bochs VBE's fixed
/// address) with decode on, so firmware that never enumerates PCI (Emu's own BIOS) finds it where VBE says;
/// SeaBIOS sizes and moves it like any BAR.
/// </summary>
public sealed class VgaPciFunction : PciFunction
{
    private readonly Action<ulong?> _moveFramebuffer;
    private readonly uint _size;

    public VgaPciFunction(uint framebufferBytes, ulong defaultAddress, Action<ulong?> moveFramebuffer)
        : base("vga-pci", device: 2, function: 0, BuildConfig(framebufferBytes, defaultAddress))
    {
        _size = framebufferBytes;
        _moveFramebuffer = moveFramebuffer;
    }

    private static PciConfigSpace BuildConfig(uint size, ulong address)
    {
        var c = new PciConfigSpace(0x1234, 0x1111, revision: 0x02, classCode: 0x03, subClass: 0x00, progIf: 0x00);
        c.MemoryBar(0, size, prefetchable: true);
        c.SetU32(PciConfigSpace.Bar0, (uint)address | 8);
        c.SetU16(PciConfigSpace.Command, PciConfigSpace.CommandIo | PciConfigSpace.CommandMemory);
        c.SetU16(PciConfigSpace.SubsystemVendorId, 0x1AF4);
        c.SetU16(PciConfigSpace.SubsystemId, 0x1100);
        return c;
    }

    protected override void ConfigWritten(int offset, int size)
    {
        if (Touches(offset, size, PciConfigSpace.Command, 2) || Touches(offset, size, PciConfigSpace.Bar0, 4))
        {
            ConfigChanged();
        }
    }

    /// <summary>
    /// Maps the framebuffer at BAR0 when memory decode is on and the BAR holds a real address: not 0, not the
    /// all-ones a sizing write leaves, and below the APIC and BIOS range at 0xFEC00000 (QEMU's pci_bar_address).
    /// </summary>
    protected override void ConfigChanged()
    {
        ulong address = Config.U32(PciConfigSpace.Bar0) & 0xFFFF_FFF0;
        bool decode = (Config.U16(PciConfigSpace.Command) & PciConfigSpace.CommandMemory) != 0;
        bool valid = address != 0 && address + _size <= 0xFEC0_0000;
        _moveFramebuffer(decode && valid ? address : null);
    }
}
