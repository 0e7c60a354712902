namespace Emu.Machine.Board;

/// <summary>One E820 range: base, length, type (1 usable RAM, 2 reserved).</summary>
public readonly record struct E820Entry(ulong Base, ulong Length, uint Type);

/// <summary>
/// The PC's physical memory map as a boot loader reports it (multiboot mmap, Linux boot_params E820): conventional
/// memory up to the EBDA, the EBDA and the BIOS ROM reserved, RAM from 1 MiB to the top.
/// </summary>
public static class PcMemoryMap
{
    public static E820Entry[] E820(ulong ramSizeBytes) =>
    [
        new(0, 0x9FC00, 1),
        new(0x9FC00, 0x400, 2),
        new(0xF0000, 0x10000, 2),
        new(0x100000, ramSizeBytes - 0x100000, 1),
    ];
}
