using System.Buffers.Binary;
using System.Text;
using Emu.Machine.Memory;

namespace Emu.Machine.Board;

/// <summary>
/// Loads a Linux bzImage as a boot loader following Documentation/x86/boot.rst does, and enters it through the
/// 32-bit boot protocol: the protected-mode kernel at <c>code32_start</c>, the zero page (<c>boot_params</c>) with
/// the setup header copied from the image and filled in as the real-mode setup code would have left it (E820 map,
/// memory sizes, VGA text screen), the command line, and the initrd at the highest page-aligned address the header
/// allows. The kernel's own setup code is not run, so the BIOS it would call is not needed.
/// </summary>
/// <remarks>
/// Layout (QEMU's <c>load_linux</c> for protocol 2.02+): zero page at 0x10000, the GDT with the flat
/// <c>__BOOT_CS</c> (0x10) and <c>__BOOT_DS</c> (0x18) the protocol asks for at 0x11000, command line at 0x20000,
/// kernel at 1 MiB.
/// </remarks>
public static class LinuxBootLoader
{
    public const ulong BootParamsAddress = 0x10000;
    public const ulong GdtAddress = 0x11000;
    public const ulong CmdlineAddress = 0x20000;
    public const ushort BootCs = 0x10;
    public const ushort BootDs = 0x18;

    private const int SetupHeaderOffset = 0x1F1;
    private const uint HdrSMagic = 0x5372_6448; // "HdrS"
    private const byte LoadedHigh = 0x01;
    private const byte CanUseHeap = 0x80;
    private const byte TypeOfLoaderQemu = 0xB0;
    private const int E820Max = 128;

    /// <summary>The protected-mode entry: EIP, the zero page (ESI) and the GDT the CPU starts with.</summary>
    public readonly record struct Entry(uint Eip, uint BootParams, uint GdtBase, ushort GdtLimit);

    /// <summary>What the setup header says, read before anything is written to guest memory.</summary>
    public readonly record struct SetupHeader(int SetupSects, ushort Version, byte LoadFlags, uint Code32Start, uint InitrdAddrMax, uint CmdlineSize, int HeaderEnd);

    /// <summary>True when <paramref name="image"/> carries the "HdrS" signature of a Linux setup header.</summary>
    public static bool IsBzImage(ReadOnlySpan<byte> image) =>
        image.Length >= 0x210 && BinaryPrimitives.ReadUInt32LittleEndian(image[0x202..]) == HdrSMagic;

    public static SetupHeader ReadHeader(ReadOnlySpan<byte> image, string name)
    {
        if (!IsBzImage(image))
        {
            throw new GuestImageException($"kernel: '{name}' has no Linux setup header (no \"HdrS\" at offset 0x202)");
        }

        ushort version = U16(image, 0x206);
        if (version < 0x202)
        {
            throw new GuestImageException($"kernel: '{name}' uses boot protocol {version >> 8}.{version & 0xFF:d2}; 2.02 or later is needed");
        }

        byte loadflags = image[0x211];
        if ((loadflags & LoadedHigh) == 0)
        {
            throw new GuestImageException($"kernel: '{name}' is a zImage (loaded low, loadflags 0x{loadflags:x2}); only bzImage kernels are supported");
        }

        int setupSects = image[SetupHeaderOffset] == 0 ? 4 : image[SetupHeaderOffset];
        int headerEnd = 0x202 + image[0x201];
        uint initrdAddrMax = version >= 0x203 ? U32(image, 0x22C) : 0x37FF_FFFF;
        uint cmdlineSize = version >= 0x206 ? U32(image, 0x238) : 255;
        if ((setupSects + 1) * 512 >= image.Length || headerEnd > (setupSects + 1) * 512)
        {
            throw new GuestImageException($"kernel: '{name}' is truncated: {setupSects} setup sectors but {image.Length} bytes");
        }

        return new SetupHeader(setupSects, version, loadflags, U32(image, 0x214), initrdAddrMax, cmdlineSize, headerEnd);
    }

    public static Entry Load(AddressSpace memory, ulong ramSizeBytes, ReadOnlySpan<byte> image, string name, string cmdline, ReadOnlySpan<byte> initrd, string initrdName)
    {
        SetupHeader h = ReadHeader(image, name);
        ReadOnlySpan<byte> kernel = image[((h.SetupSects + 1) * 512)..];
        if (h.Code32Start < 0x100000 || (ulong)h.Code32Start + (ulong)kernel.Length > ramSizeBytes)
        {
            throw new GuestImageException($"kernel: '{name}' ({kernel.Length} bytes at 0x{h.Code32Start:x}) does not fit in {ramSizeBytes >> 20} MiB of RAM");
        }

        byte[] cmd = Encoding.ASCII.GetBytes(cmdline);
        if ((uint)cmd.Length > h.CmdlineSize)
        {
            throw new GuestImageException($"kernel: command line of {cmd.Length} bytes is longer than the {h.CmdlineSize} '{name}' accepts");
        }

        var zeroPage = new byte[4096];
        image[SetupHeaderOffset..h.HeaderEnd].CopyTo(zeroPage.AsSpan(SetupHeaderOffset));
        zeroPage[SetupHeaderOffset] = (byte)h.SetupSects; // 0 in the image means 4

        zeroPage[0x210] = TypeOfLoaderQemu;
        zeroPage[0x211] = (byte)(h.LoadFlags | CanUseHeap);
        W32(zeroPage, 0x228, (uint)CmdlineAddress);

        if (initrd.Length > 0)
        {
            ulong top = Math.Min((ulong)h.InitrdAddrMax + 1, ramSizeBytes);
            ulong kernelEnd = (ulong)h.Code32Start + (ulong)kernel.Length;
            if ((ulong)initrd.Length > top || ((top - (ulong)initrd.Length) & ~0xFFFUL) < kernelEnd)
            {
                throw new GuestImageException($"initrd: '{initrdName}' ({initrd.Length} bytes) does not fit below 0x{top:x} after the kernel; give the guest more memory (-m)");
            }

            ulong at = (top - (ulong)initrd.Length) & ~0xFFFUL;
            memory.LoadImage(at, initrd);
            W32(zeroPage, 0x218, (uint)at);
            W32(zeroPage, 0x21C, (uint)initrd.Length);
        }

        WriteScreenInfo(zeroPage, ramSizeBytes);
        W32(zeroPage, 0x1E0, (uint)((ramSizeBytes - 0x100000) / 1024)); // alt_mem_k
        WriteE820(zeroPage, ramSizeBytes);

        memory.LoadImage(h.Code32Start, kernel);
        memory.LoadImage(BootParamsAddress, zeroPage);
        memory.LoadImage(CmdlineAddress, [.. cmd, 0]);
        memory.LoadImage(GdtAddress, BootGdt());
        return new Entry(h.Code32Start, (uint)BootParamsAddress, (uint)GdtAddress, 4 * 8 - 1);
    }

    private static void WriteE820(byte[] zeroPage, ulong ramSizeBytes)
    {
        E820Entry[] map = PcMemoryMap.E820(ramSizeBytes);
        zeroPage[0x1E8] = (byte)Math.Min(map.Length, E820Max);
        for (int i = 0; i < map.Length; i++)
        {
            Span<byte> e = zeroPage.AsSpan(0x2D0 + (i * 20), 20);
            BinaryPrimitives.WriteUInt64LittleEndian(e, map[i].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(e[8..], map[i].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(e[16..], map[i].Type);
        }
    }

    /// <summary>struct screen_info as the setup code leaves it for an 80x25 VGA colour text screen (mode 3).</summary>
    private static void WriteScreenInfo(byte[] zeroPage, ulong ramSizeBytes)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(zeroPage.AsSpan(0x02), (ushort)Math.Min(0xFFFF, (ramSizeBytes - 0x100000) / 1024)); // ext_mem_k
        zeroPage[0x06] = 3;     // orig_video_mode
        zeroPage[0x07] = 80;    // orig_video_cols
        zeroPage[0x0E] = 25;    // orig_video_lines
        zeroPage[0x0F] = 0x22;  // orig_video_isVGA: VIDEO_TYPE_VGAC
        BinaryPrimitives.WriteUInt16LittleEndian(zeroPage.AsSpan(0x10), 16); // orig_video_points
    }

    /// <summary>Null, null, then the flat 4 GiB code (0x10) and data (0x18) descriptors of the boot protocol.</summary>
    private static byte[] BootGdt()
    {
        var gdt = new byte[32];
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(16), 0x00CF_9B00_0000_FFFF);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(24), 0x00CF_9300_0000_FFFF);
        return gdt;
    }

    private static void W32(byte[] b, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    private static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);
}
