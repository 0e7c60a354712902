using System.Buffers.Binary;
using Emu.Machine.Board;
using Emu.Machine.Memory;

namespace Emu.UnitTests.Board;

public sealed class MultibootLoaderTests
{
    private const ulong Ram = 16 << 20;

    /// <summary>A minimal multiboot ELF32: one PT_LOAD of the whole file at 1 MiB, bss of 0x100 bytes.</summary>
    private static byte[] Elf(uint paddr = 0x100000, bool multiboot = true, uint checksumDelta = 0)
    {
        var b = new byte[0x100];
        "\u007FELF"u8.CopyTo(b);
        b[4] = 1;
        b[5] = 1;
        b[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 3);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), paddr + 0x80);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(28), 52);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(42), 32);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(44), 1);
        Span<byte> ph = b.AsSpan(52);
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[8..], paddr);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[12..], paddr);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[16..], (uint)b.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[20..], (uint)b.Length + 0x100);
        if (multiboot)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x60), 0x1BADB002);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x64), 2);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x68), unchecked(0u - 0x1BADB002 - 2 + checksumDelta));
        }

        b[0x80] = 0xF4; // hlt at the entry
        return b;
    }

    private static (AddressSpace Space, RamBlock Block) Machine()
    {
        var block = new RamBlock("pc.ram", Ram);
        var space = new AddressSpace();
        space.AddRam("ram", 0, block, 0, Ram);
        return (space, block);
    }

    [Fact]
    public void LoadsSegmentsAndWritesTheMultibootInfo()
    {
        var (space, block) = Machine();
        using (block)
        {
            block.Write(0x100100, [0xAA]); // bss must come out zeroed
            MultibootLoader.Entry e = MultibootLoader.Load(space, Ram, Elf(), "t.elf", "region=4 work=1");

            Assert.Equal(0x100080u, e.Eip);
            Assert.Equal(0x2BADB002u, e.Eax);
            Assert.Equal(0xF4, space.ReadU8(0x100080));
            Assert.Equal(0, space.ReadU8(0x100100));
            uint mbi = e.Ebx;
            Assert.Equal(0x245u, space.ReadU32(mbi) & 0x245u);
            Assert.Equal(639u, space.ReadU32(mbi + 4));
            Assert.Equal((uint)((Ram - 0x100000) / 1024), space.ReadU32(mbi + 8));
            uint cmd = space.ReadU32(mbi + 16);
            var text = new byte[15];
            space.Read(cmd, text);
            Assert.Equal("region=4 work=1"u8.ToArray(), text);
            Assert.Equal(0, space.ReadU8(cmd + 15));

            uint mmapLen = space.ReadU32(mbi + 44), mmap = space.ReadU32(mbi + 48);
            Assert.Equal(4 * 24u, mmapLen);
            Assert.Equal(0x100000UL, space.ReadU64(mmap + (3 * 24) + 4));
            Assert.Equal(Ram - 0x100000, space.ReadU64(mmap + (3 * 24) + 12));
            Assert.Equal(1u, space.ReadU32(mmap + (3 * 24) + 20));
        }
    }

    [Fact]
    public void RefusesWhatIsNotAMultibootElfWithTheReason()
    {
        var (space, block) = Machine();
        using (block)
        {
            Assert.Contains("'x.bin' is neither a Linux bzImage nor an ELF file (expected 7f 45 4c 46 at offset 0, found 4d5a",
                Assert.Throws<GuestImageException>(() => MultibootLoader.Load(space, Ram, "MZ\0\0"u8.ToArray().Concat(new byte[60]).ToArray(), "x.bin", "")).Message);
            Assert.Contains("no multiboot header",
                Assert.Throws<GuestImageException>(() => MultibootLoader.Load(space, Ram, Elf(multiboot: false), "x.elf", "")).Message);
            Assert.Contains("bad checksum",
                Assert.Throws<GuestImageException>(() => MultibootLoader.Load(space, Ram, Elf(checksumDelta: 1), "x.elf", "")).Message);
            Assert.Contains("outside RAM",
                Assert.Throws<GuestImageException>(() => MultibootLoader.Load(space, Ram, Elf(paddr: 0x2000000), "x.elf", "")).Message);
            Assert.Contains("0xa0000-0xfffff is the VGA window and ROM area",
                Assert.Throws<GuestImageException>(() => MultibootLoader.Load(space, Ram, Elf(paddr: 0x9FF00), "x.elf", "")).Message);
        }
    }

    [Fact]
    public void LoadsASegmentBelowOneMibInConventionalMemory()
    {
        // kvm-unit-tests' realmode.flat links at 16 KiB: the segment and its entry stay where the ELF says.
        var (space, block) = Machine();
        using (block)
        {
            MultibootLoader.Entry e = MultibootLoader.Load(space, Ram, Elf(paddr: 0x4000), "low.elf", "");
            Assert.Equal(0x4080u, e.Eip);
            Assert.Equal(0xF4, space.ReadU8(0x4080));
            Assert.Equal((uint)MultibootLoader.InfoAddress, e.Ebx);
        }
    }

    [Fact]
    public void MovesTheInfoBlockPastASegmentThatCoversIt()
    {
        var (space, block) = Machine();
        using (block)
        {
            MultibootLoader.Entry e = MultibootLoader.Load(space, Ram, Elf(paddr: 0x8F00), "over.elf", "console=ttyS0");
            Assert.Equal(0xA000u, e.Ebx);                    // after 0x8F00 + 0x200, page-aligned
            Assert.Equal(0xF4, space.ReadU8(0x8F80));
            uint cmdline = space.ReadU32(e.Ebx + 16);
            Assert.Equal((byte)'c', space.ReadU8(cmdline));
            Assert.Equal(e.Ebx + 0x100, space.ReadU32(e.Ebx + 48)); // mmap_addr
        }
    }
}
