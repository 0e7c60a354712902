using System.Buffers.Binary;

namespace Emu.Machine.Devices.Ata;

/// <summary>The IDENTIFY DEVICE block for Emu's disk (QEMU ide_identify, without DMA and LBA48).</summary>
internal static class AtaIdentify
{
    public const string Model = "EMU HARDDISK";
    public const string Serial = "EMU00001";
    public const string Firmware = "1.0";

    public static void Build(Span<byte> block, int cylinders, int heads, int sectorsPerTrack,
        int logicalHeads, int logicalSectors, long totalSectors, int multSectors)
    {
        block[..512].Clear();

        int logicalCylinders = (int)Math.Min(totalSectors / Math.Max(1, logicalHeads * logicalSectors), 65535);
        long chsCapacity = (long)logicalCylinders * logicalHeads * logicalSectors;
        long lba28 = Math.Min(totalSectors, 0x0FFF_FFFF);

        W(block, 0, 0x0040);                       // fixed disk
        W(block, 1, cylinders);
        W(block, 3, heads);
        W(block, 4, 512 * sectorsPerTrack);        // obsolete: bytes per track
        W(block, 5, 512);                          // obsolete: bytes per sector
        W(block, 6, sectorsPerTrack);
        PutString(block, 10, 20, Serial);
        W(block, 20, 3);                           // buffer type: dual ported, read cache
        W(block, 21, 512);                         // buffer size in sectors
        W(block, 22, 4);                           // ECC bytes
        PutString(block, 23, 8, Firmware);
        PutString(block, 27, 40, Model);
        W(block, 47, 0x8000 | AtaController.MaxMultipleSectors);
        W(block, 48, 1);                           // 32-bit data port I/O
        W(block, 49, (1 << 11) | (1 << 9));        // IORDY, LBA
        W(block, 51, 0x200);                       // PIO timing mode 2
        W(block, 53, 0x0003);                      // words 54–58 and 64–70 are valid
        W(block, 54, logicalCylinders);
        W(block, 55, logicalHeads);
        W(block, 56, logicalSectors);
        W(block, 57, (int)(chsCapacity & 0xFFFF));
        W(block, 58, (int)(chsCapacity >> 16));
        if (multSectors != 0)
        {
            W(block, 59, 0x100 | multSectors);
        }

        W(block, 60, (int)(lba28 & 0xFFFF));
        W(block, 61, (int)(lba28 >> 16));
        W(block, 64, 0x03);                        // PIO modes 3 and 4
        W(block, 65, 120);
        W(block, 66, 120);
        W(block, 67, 120);
        W(block, 68, 120);
        W(block, 80, 0xF0);                        // ATA-4 to ATA-7
        W(block, 81, 0x16);
        W(block, 82, 1 << 14);                     // NOP
        W(block, 83, (1 << 14) | (1 << 12));       // FLUSH CACHE
        W(block, 84, 1 << 14);
        W(block, 85, 1 << 14);
        W(block, 86, 1 << 12);
        W(block, 87, 1 << 14);
    }

    private static void W(Span<byte> block, int word, int value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(block[(word * 2)..], (ushort)value);

    /// <summary>ATA strings: space-padded, two characters per word, the first in the high byte.</summary>
    private static void PutString(Span<byte> block, int word, int length, string text)
    {
        for (int i = 0; i < length; i++)
        {
            char c = i < text.Length ? text[i] : ' ';
            block[(word * 2) + (i ^ 1)] = (byte)c;
        }
    }
}
