using Emu.Machine.Memory;

namespace Emu.Machine.Devices.Pci;

/// <summary>
/// The VGA as QEMU's <c>-vga std</c> at 00:02.0 (1234:1111, class 0x0300): BAR0 is the 16 MiB prefetchable linear
/// framebuffer, which follows the BAR while memory decode is on. It powers up at 0xE0000000 (Bochs VBE's fixed
/// address) with decode on, so firmware that never enumerates PCI (Emu's own BIOS) finds it where VBE says;
/// SeaBIOS sizes and moves it like any BAR. With an option ROM (SeaVGABIOS, as QEMU's romfile), the expansion ROM
/// BAR at 0x30 maps it read-only ("vga.rom") while enabled, so the firmware runs it as this device's ROM and the
/// VGA BIOS finds the framebuffer at BAR0.
/// </summary>
public sealed class VgaPciFunction : PciFunction
{
    public const int ExpansionRomBar = 0x30;

    private readonly Action<ulong?> _moveFramebuffer;
    private readonly uint _size;
    private readonly AddressSpace _memory;
    private MemoryRegion? _romWindow;

    public VgaPciFunction(uint framebufferBytes, ulong defaultAddress, Action<ulong?> moveFramebuffer, AddressSpace memory, RamBlock? rom)
        : base("vga-pci", device: 2, function: 0, BuildConfig(framebufferBytes, defaultAddress, rom))
    {
        _size = framebufferBytes;
        _moveFramebuffer = moveFramebuffer;
        _memory = memory;
        Rom = rom;
    }

    /// <summary>The option ROM behind the expansion ROM BAR, or null.</summary>
    public RamBlock? Rom { get; }

    private static PciConfigSpace BuildConfig(uint size, ulong address, RamBlock? rom)
    {
        var c = new PciConfigSpace(0x1234, 0x1111, revision: 0x02, classCode: 0x03, subClass: 0x00, progIf: 0x00);
        c.MemoryBar(0, size, prefetchable: true);
        c.SetU32(PciConfigSpace.Bar0, (uint)address | 8);
        c.SetU16(PciConfigSpace.Command, PciConfigSpace.CommandIo | PciConfigSpace.CommandMemory);
        c.SetU16(PciConfigSpace.SubsystemVendorId, 0x1AF4);
        c.SetU16(PciConfigSpace.SubsystemId, 0x1100);
        if (rom != null)
        {
            c.Writable(ExpansionRomBar, 4, ~((uint)rom.SizeBytes - 1) | 1);
        }

        return c;
    }

    protected override void ConfigWritten(int offset, int size)
    {
        if (Touches(offset, size, PciConfigSpace.Command, 2) || Touches(offset, size, PciConfigSpace.Bar0, 4)
            || Touches(offset, size, ExpansionRomBar, 4))
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
        _moveFramebuffer(decode && Mappable(address, _size) ? address : null);
        MapRom(decode);
    }

    private static bool Mappable(ulong address, ulong size) => address != 0 && address + size <= 0xFEC0_0000;

    private void MapRom(bool decode)
    {
        if (Rom == null)
        {
            return;
        }

        uint bar = Config.U32(ExpansionRomBar);
        ulong address = bar & 0xFFFF_F800;
        ulong? want = decode && (bar & 1) != 0 && Mappable(address, Rom.SizeBytes) ? address : null;
        if (_romWindow?.Gpa == want)
        {
            return;
        }

        if (_romWindow != null)
        {
            _memory.Remove(_romWindow);
            _romWindow = null;
        }

        if (want is ulong gpa)
        {
            _romWindow = _memory.AddRam("vga.rom", gpa, Rom, 0, Rom.SizeBytes, readOnly: true, priority: 2);
        }
    }
}
