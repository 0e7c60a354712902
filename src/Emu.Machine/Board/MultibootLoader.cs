using System.Buffers.Binary;
using System.Text;
using Emu.Machine.Memory;

namespace Emu.Machine.Board;

/// <summary>
/// Loads a multiboot (v1) ELF32 kernel as a multiboot boot loader would (QEMU's -kernel for multiboot images):
/// PT_LOAD segments at their physical addresses, then the multiboot info with mem_lower/mem_upper, the command
/// line and a memory map, below 640 KiB.
/// </summary>
/// <remarks>
/// Segments may lie anywhere in RAM that nothing else occupies, as QEMU's loader allows: conventional memory below
/// the VGA window (0–0x9FFFF) or RAM from 1 MiB; the window and the ROM area (0xA0000–0xFFFFF) are refused. The
/// info block sits at 0x9000 unless a segment covers it; then it goes after the highest segment, page-aligned, as
/// QEMU places it after the image.
/// </remarks>
/// <remarks>
/// Multiboot info layout written here (offsets in bytes): 0 flags, 4 mem_lower (KiB), 8 mem_upper (KiB above
/// 1 MiB), 16 cmdline, 44 mmap_length, 48 mmap_addr, 64 boot_loader_name. Each mmap entry is u32 size (20),
/// u64 base, u64 length, u32 type (1 usable, 2 reserved).
/// </remarks>
public static class MultibootLoader
{
    public const uint BootloaderMagic = 0x2BADB002;
    public const uint HeaderMagic = 0x1BADB002;
    public const ulong InfoAddress = 0x9000;
    private const ulong MmapOffset = 0x100;
    private const ulong NameOffset = 0x300;
    private const ulong CmdlineOffset = 0x400;
    private const int MaxCmdline = 0x1000 - 1;

    /// <summary>The info block's span: the structure, the memory map, the loader name and the command line.</summary>
    private const ulong InfoBytes = CmdlineOffset + MaxCmdline + 1;

    /// <summary>Conventional memory ends where the VGA window begins; RAM resumes at 1 MiB.</summary>
    private const ulong ConventionalEnd = 0xA0000, HighStart = 0x100000;

    public readonly record struct Entry(uint Eip, uint Eax, uint Ebx);

    public static Entry Load(AddressSpace memory, ulong ramSizeBytes, ReadOnlySpan<byte> image, string name, string cmdline)
    {
        if (image.Length < 52 || !image[..4].SequenceEqual("\u007FELF"u8))
        {
            throw new GuestImageException($"kernel: '{name}' is neither a Linux bzImage nor an ELF file (expected 7f 45 4c 46 at offset 0, found {Hex(image[..Math.Min(4, image.Length)])})");
        }

        if (image[4] != 1 || image[5] != 1 || U16(image, 18) != 3)
        {
            throw new GuestImageException($"kernel: '{name}' is not a 32-bit little-endian i386 ELF (class {image[4]}, data {image[5]}, machine {U16(image, 18)})");
        }

        CheckMultibootHeader(image, name);

        uint entry = U32(image, 24);
        uint phoff = U32(image, 28);
        int phentsize = U16(image, 42);
        int phnum = U16(image, 44);
        if (phentsize < 32 || phnum == 0 || (ulong)phoff + ((ulong)phnum * (ulong)phentsize) > (ulong)image.Length)
        {
            throw new GuestImageException($"kernel: '{name}' has a program header table outside the file (offset 0x{phoff:x}, {phnum} × {phentsize} bytes)");
        }

        var segments = new List<(ulong Start, ulong End)>();
        for (int i = 0; i < phnum; i++)
        {
            int ph = (int)phoff + (i * phentsize);
            if (U32(image, ph) != 1)
            {
                continue; // not PT_LOAD
            }

            uint offset = U32(image, ph + 4), paddr = U32(image, ph + 12), filesz = U32(image, ph + 16), memsz = U32(image, ph + 20);
            if ((ulong)offset + filesz > (ulong)image.Length || filesz > memsz)
            {
                throw new GuestImageException($"kernel: '{name}' segment {i} (file 0x{offset:x}+0x{filesz:x}) runs past the end of the file or its memory size");
            }

            ulong end = (ulong)paddr + memsz;
            bool conventional = end <= ConventionalEnd;
            if (!conventional && (paddr < HighStart || end > ramSizeBytes))
            {
                throw new GuestImageException($"kernel: '{name}' segment {i} at 0x{paddr:x}+0x{memsz:x} is outside RAM (0 to 0x9ffff, or 1 MiB to 0x{ramSizeBytes:x}; 0xa0000-0xfffff is the VGA window and ROM area)");
            }

            segments.Add((paddr, end));

            memory.LoadImage(paddr, image.Slice((int)offset, (int)filesz));
            memory.LoadImage(paddr + (ulong)filesz, new byte[memsz - filesz]);
        }

        if (segments.Count == 0)
        {
            throw new GuestImageException($"kernel: '{name}' has no loadable (PT_LOAD) segment");
        }

        ulong info = InfoPlace(segments, ramSizeBytes, name);
        WriteInfo(memory, info, ramSizeBytes, cmdline);
        return new Entry(entry, BootloaderMagic, (uint)info);
    }

    private static ulong InfoPlace(List<(ulong Start, ulong End)> segments, ulong ramSizeBytes, string name)
    {
        static bool Overlaps(List<(ulong Start, ulong End)> segs, ulong at) => segs.Exists(s => s.Start < at + InfoBytes && at < s.End);
        if (!Overlaps(segments, InfoAddress))
        {
            return InfoAddress;
        }

        ulong after = (segments.Max(s => s.End) + 0xFFF) & ~0xFFFUL;
        ulong limit = after <= ConventionalEnd ? ConventionalEnd : ramSizeBytes;
        if (after + InfoBytes > limit || Overlaps(segments, after))
        {
            throw new GuestImageException($"kernel: '{name}' leaves no room for the multiboot information (0x{InfoBytes:x} bytes) at 0x{InfoAddress:x} or after its last segment");
        }

        return after;
    }

    private static void CheckMultibootHeader(ReadOnlySpan<byte> image, string name)
    {
        int limit = Math.Min(image.Length - 12, 8192 - 12);
        for (int at = 0; at <= limit; at += 4)
        {
            if (U32(image, at) == HeaderMagic)
            {
                uint flags = U32(image, at + 4);
                if (unchecked(HeaderMagic + flags + U32(image, at + 8)) != 0)
                {
                    throw new GuestImageException($"kernel: '{name}' multiboot header at 0x{at:x} has a bad checksum");
                }

                if ((flags & 0x10000) != 0)
                {
                    throw new GuestImageException($"kernel: '{name}' asks for a.out-kludge load addresses (flag 16); only ELF loading is supported");
                }

                return;
            }
        }

        throw new GuestImageException($"kernel: '{name}' has no multiboot header (magic 0x1badb002) in its first 8 KiB");
    }

    private static void WriteInfo(AddressSpace memory, ulong infoAddress, ulong ramSizeBytes, string cmdline)
    {
        byte[] cmd = Encoding.ASCII.GetBytes(cmdline);
        if (cmd.Length > MaxCmdline)
        {
            throw new GuestImageException($"kernel: command line of {cmd.Length} bytes is longer than {MaxCmdline}");
        }

        E820Entry[] map = PcMemoryMap.E820(ramSizeBytes);
        var mmap = new byte[map.Length * 24];
        for (int i = 0; i < map.Length; i++)
        {
            Span<byte> e = mmap.AsSpan(i * 24, 24);
            BinaryPrimitives.WriteUInt32LittleEndian(e, 20);
            BinaryPrimitives.WriteUInt64LittleEndian(e[4..], map[i].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(e[12..], map[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], map[i].Type);
        }

        var info = new byte[88];
        BinaryPrimitives.WriteUInt32LittleEndian(info, 0x1 | 0x4 | 0x40 | 0x200); // mem, cmdline, mmap, loader name
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(4), 639);
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(8), (uint)((ramSizeBytes - 0x100000) / 1024));
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(16), (uint)(infoAddress + CmdlineOffset));
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(44), (uint)mmap.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(48), (uint)(infoAddress + MmapOffset));
        BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(64), (uint)(infoAddress + NameOffset));

        memory.LoadImage(infoAddress, info);
        memory.LoadImage(infoAddress + MmapOffset, mmap);
        memory.LoadImage(infoAddress + NameOffset, "emu\0"u8);
        memory.LoadImage(infoAddress + CmdlineOffset, [.. cmd, 0]);
    }

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    private static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);

    private static string Hex(ReadOnlySpan<byte> b) => b.Length == 0 ? "an empty file" : Convert.ToHexString(b).ToLowerInvariant();
}
