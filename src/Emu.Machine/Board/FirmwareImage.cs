using Emu.Machine.Memory;

namespace Emu.Machine.Board;

/// <summary>
/// A BIOS ROM image (QEMU's -bios): 64 to 256 KiB, mapped read-only at the top of 4 GiB with its last
/// 128 KiB (or all of a smaller image) aliased just below 1 MiB, where a real-mode CPU finds it.
/// </summary>
public static class FirmwareImage
{
    public const int MinBytes = 64 * 1024;
    public const int MaxBytes = 256 * 1024;
    public const int LowAliasMaxBytes = 128 * 1024;

    public static RamBlock Map(AddressSpace memory, ReadOnlySpan<byte> image, string name)
    {
        if (image.Length < MinBytes || image.Length > MaxBytes || (image.Length & (RamBlock.PageSize - 1)) != 0)
        {
            throw new GuestImageException($"bios: '{name}' is {image.Length} bytes; a ROM image must be 64 to 256 KiB in whole 4 KiB pages");
        }

        var rom = new RamBlock("pc.bios", (ulong)image.Length);
        rom.Write(0, image); // through the write barrier, so migration knows these pages hold data
        memory.AddRam("bios", 0x1_0000_0000UL - (ulong)image.Length, rom, 0, rom.SizeBytes, readOnly: true, priority: 2);
        int alias = Math.Min(LowAliasMaxBytes, image.Length);
        memory.AddRam("isa-bios", 0x100000UL - (ulong)alias, rom, (ulong)(image.Length - alias), (ulong)alias, readOnly: true, priority: 2);
        return rom;
    }
}
