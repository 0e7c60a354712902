using Emu.Machine.Memory;

namespace Emu.Machine.Devices.Pci;

/// <summary>
/// One shadow segment the 440FX's PAM registers control (0xC0000–0xEFFFF in 16 KiB, 0xF0000–0xFFFFF in 64 KiB):
/// reads and writes go to DRAM or to the ROM/PCI side by the two enable bits. Off (0): the ROM shows through (the
/// BIOS alias, or the option-ROM area); read-only (1): DRAM reads, writes are dropped; write-only (2): the ROM
/// reads and writes land in DRAM beneath; read/write (3): DRAM.
/// </summary>
internal sealed class PamWindow : IMmioDevice
{

    private const int Priority = 3;

    private readonly AddressSpace _memory;
    private readonly RamBlock _ram;
    private readonly Func<ulong, int, ulong> _readRom;
    private MemoryRegion? _overlay;

    public PamWindow(AddressSpace memory, RamBlock ram, ulong gpa, ulong size, Func<ulong, int, ulong> readRom)
    {
        _memory = memory;
        _ram = ram;
        _readRom = readRom;
        Gpa = gpa;
        Size = size;
    }

    public ulong Gpa { get; }

    public ulong Size { get; }

    public int Mode { get; private set; } = -1;

    public void SetMode(int mode)
    {
        if (mode == Mode)
        {
            return;
        }

        Mode = mode;
        if (_overlay != null)
        {
            _memory.Remove(_overlay);
            _overlay = null;
        }

        _overlay = mode switch
        {
            PamMode.ReadWrite => _memory.AddRam($"pam-ram-{Gpa:x}", Gpa, _ram, Gpa, Size, priority: Priority),
            PamMode.ReadOnly => _memory.AddRam($"pam-rom-{Gpa:x}", Gpa, _ram, Gpa, Size, readOnly: true, priority: Priority),
            PamMode.WriteOnly => _memory.AddMmio($"pam-wo-{Gpa:x}", Gpa, Size, this, Priority),
            _ => null,
        };
    }

    public ulong MmioRead(ulong offset, int size) => _readRom(Gpa + offset, size);

    public void MmioWrite(ulong offset, int size, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _ram.Write(Gpa + offset, bytes[..size]);
    }
}
