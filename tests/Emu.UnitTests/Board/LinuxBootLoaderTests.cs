using System.Buffers.Binary;
using System.Text;
using Emu.Machine.Board;
using Emu.Machine.Memory;

namespace Emu.UnitTests.Board;

/// <summary>The Linux/x86 boot protocol as <see cref="LinuxBootLoader"/> follows it for a bzImage (Documentation/x86/boot.rst).</summary>
public sealed class LinuxBootLoaderTests
{
    private const ulong Ram = 32 << 20;

    /// <summary>A bzImage: boot sector and <paramref name="setupSects"/> setup sectors, then 0x800 bytes of protected-mode kernel.</summary>
    private static byte[] BzImage(ushort version = 0x20F, byte loadflags = 0x01, byte setupSects = 2, uint initrdAddrMax = 0x7FFF_FFFF, uint cmdlineSize = 2047)
    {
        var b = new byte[((setupSects + 1) * 512) + 0x800];
        b[0x1F1] = setupSects;
        b[0x201] = 0x6A; // the jump over the header: the header ends at 0x202 + 0x6A = 0x26C
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x202), 0x5372_6448);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x206), version);
        b[0x211] = loadflags;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x214), 0x100000);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x22C), initrdAddrMax);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x238), cmdlineSize);
        for (int i = (setupSects + 1) * 512; i < b.Length; i++)
        {
            b[i] = (byte)(i * 7);
        }

        return b;
    }

    private static (AddressSpace Memory, RamBlock Block) NewMemory()
    {
        var block = new RamBlock("pc.ram", Ram);
        var memory = new AddressSpace();
        memory.AddRam("ram", 0, block, 0, Ram);
        return (memory, block);
    }

    [Fact]
    public void KernelZeroPageCommandLineAndInitrdLandWhereTheProtocolSays()
    {
        (AddressSpace memory, RamBlock block) = NewMemory();
        using RamBlock _ = block;
        byte[] image = BzImage();
        byte[] initrd = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        LinuxBootLoader.Entry e = LinuxBootLoader.Load(memory, Ram, image, "bz", "console=ttyS0", initrd, "rd");

        Assert.Equal(0x100000u, e.Eip);
        Assert.Equal((uint)LinuxBootLoader.BootParamsAddress, e.BootParams);
        for (int i = 0; i < 0x800; i += 0x101)
        {
            Assert.Equal(image[(3 * 512) + i], memory.ReadU8(0x100000 + (ulong)i));
        }

        ulong zp = LinuxBootLoader.BootParamsAddress;
        Assert.Equal(0x5372_6448u, memory.ReadU32(zp + 0x202));           // the setup header copied
        Assert.Equal(0xB0, memory.ReadU8(zp + 0x210));                    // type_of_loader
        Assert.Equal(0x81, memory.ReadU8(zp + 0x211));                    // LOADED_HIGH | CAN_USE_HEAP
        uint cmdline = memory.ReadU32(zp + 0x228);
        Assert.Equal("console=ttyS0\0", Encoding.ASCII.GetString(Enumerable.Range(0, 14).Select(i => memory.ReadU8(cmdline + (ulong)i)).ToArray()));

        // The initrd at the highest page below the top of RAM, and its bytes.
        uint rd = memory.ReadU32(zp + 0x218);
        Assert.Equal(5000u, memory.ReadU32(zp + 0x21C));
        Assert.Equal(0u, rd & 0xFFF);
        Assert.Equal((Ram - 5000) & ~0xFFFUL, rd);
        Assert.Equal(initrd[4999], memory.ReadU8(rd + 4999UL));

        // E820: four entries, RAM from 1 MiB to the top; an 80x25 VGA text screen.
        Assert.Equal(4, memory.ReadU8(zp + 0x1E8));
        Assert.Equal(0x100000UL, memory.ReadU64(zp + 0x2D0 + (3 * 20)));
        Assert.Equal(Ram - 0x100000, memory.ReadU64(zp + 0x2D0 + (3 * 20) + 8));
        Assert.Equal(1u, memory.ReadU32(zp + 0x2D0 + (3 * 20) + 16));
        Assert.Equal(3, memory.ReadU8(zp + 0x06));
        Assert.Equal(80, memory.ReadU8(zp + 0x07));
        Assert.Equal(25, memory.ReadU8(zp + 0x0E));

        // The GDT holds the flat __BOOT_CS (0x10) and __BOOT_DS (0x18).
        Assert.Equal(0x00CF_9B00_0000_FFFFUL, memory.ReadU64(e.GdtBase + 0x10UL));
        Assert.Equal(0x00CF_9300_0000_FFFFUL, memory.ReadU64(e.GdtBase + 0x18UL));
    }

    [Fact]
    public void InitrdStaysBelowInitrdAddrMax()
    {
        (AddressSpace memory, RamBlock block) = NewMemory();
        using RamBlock _ = block;
        LinuxBootLoader.Load(memory, Ram, BzImage(initrdAddrMax: 0x00FF_FFFF), "bz", "", new byte[100], "rd");
        Assert.Equal(0x00FF_F000u, memory.ReadU32(LinuxBootLoader.BootParamsAddress + 0x218));
    }

    [Theory]
    [InlineData((ushort)0x201, (byte)0x01, "boot protocol 2.01; 2.02 or later is needed")]
    [InlineData((ushort)0x20F, (byte)0x00, "is a zImage (loaded low, loadflags 0x00)")]
    public void OldProtocolsAndZImagesAreRefused(ushort version, byte loadflags, string message)
    {
        (AddressSpace memory, RamBlock block) = NewMemory();
        using RamBlock _ = block;
        var e = Assert.Throws<GuestImageException>(() => LinuxBootLoader.Load(memory, Ram, BzImage(version, loadflags), "bz", "", [], ""));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ACommandLineLongerThanCmdlineSizeIsRefused()
    {
        (AddressSpace memory, RamBlock block) = NewMemory();
        using RamBlock _ = block;
        var e = Assert.Throws<GuestImageException>(() => LinuxBootLoader.Load(memory, Ram, BzImage(cmdlineSize: 8), "bz", "console=ttyS0", [], ""));
        Assert.Equal("kernel: command line of 13 bytes is longer than the 8 'bz' accepts", e.Message);
    }

    [Fact]
    public void OnlyImagesWithTheHdrSSignatureAreBzImages()
    {
        Assert.True(LinuxBootLoader.IsBzImage(BzImage()));
        byte[] elf = new byte[0x400];
        "\u007FELF"u8.CopyTo(elf);
        Assert.False(LinuxBootLoader.IsBzImage(elf));
    }
}
