namespace Emu.Machine.Devices.Pci;

/// <summary>
/// The PIIX3 IDE function at 00:01.1 (8086:7010): both channels in ISA compatibility mode (0x1F0/0x3F6 on IRQ 14,
/// 0x170/0x376 on IRQ 15), which is how firmware finds Emu's ATA controller on a PCI board. Programming
/// interface 0x00: no bus-master DMA, since Emu's ATA does PIO only.
/// </summary>
public sealed class Piix3IdeFunction() : PciFunction("piix3-ide", device: 1, function: 1,
    new PciConfigSpace(0x8086, 0x7010, revision: 0x00, classCode: 0x01, subClass: 0x01, progIf: 0x00));
