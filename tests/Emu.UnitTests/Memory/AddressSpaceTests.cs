using Emu.Machine.Io;
using Emu.Machine.Memory;

namespace Emu.UnitTests.Memory;

public sealed class AddressSpaceTests
{
    [Fact]
    public void RamAliasRomAndMmioResolveByPriority()
    {
        using var ram = new RamBlock("pc.ram", 2 * 1024 * 1024);
        using var bios = new RamBlock("pc.bios", 128 * 1024);
        var space = new AddressSpace();
        var mmio = new RecordingMmio();
        space.AddRam("ram", 0, ram, 0, ram.SizeBytes);
        space.AddRam("isa-bios", 0xE0000, bios, 0, bios.SizeBytes, readOnly: true, priority: 1);
        space.AddMmio("vga-lowmem", 0xA0000, 0x20000, mmio, priority: 1);

        space.LoadImage(0xFFFF0, [0xEA, 0x5B, 0xE0]);
        Assert.Equal(0xEA, bios.Page(31)[0xFF0]);
        space.WriteU8(0xFFFF0, 0x90);
        Assert.Equal(0xEA, space.ReadU8(0xFFFF0));

        space.WriteU16(0xB8000, 0x0741);
        Assert.Equal((0x18000UL, 2, 0x0741UL), mmio.Writes.Single());

        space.WriteU32(0x100000, 0xDEADBEEF);
        Assert.Equal(0xDEADBEEFu, space.ReadU32(0x100000));
        Assert.Equal(0xFFu, space.ReadU8(0x4000_0000));
    }

    [Fact]
    public void StoresThatCrossIntoUnmappedSpaceKeepTheMappedBytes()
    {
        using var ram = new RamBlock("pc.ram", RamBlock.PageSize);
        var space = new AddressSpace();
        space.AddRam("ram", 0, ram, 0, ram.SizeBytes);
        space.WriteU32(RamBlock.PageSize - 2, 0x11223344);
        Assert.Equal(0xFFFF3344u, space.ReadU32(RamBlock.PageSize - 2));
    }

    [Fact]
    public void BulkWritesMarkEveryTouchedPage()
    {
        using var ram = new RamBlock("pc.ram", 8 * RamBlock.PageSize);
        ram.DirtyLog.Enable(DirtyClient.Migration, allDirty: false);
        var space = new AddressSpace();
        space.AddRam("ram", 0, ram, 0, ram.SizeBytes);
        space.Write(RamBlock.PageSize - 1, new byte[RamBlock.PageSize + 2]);
        var bm = new ulong[1];
        Assert.Equal(3, ram.DirtyLog.Sync(DirtyClient.Migration, bm));
        Assert.Equal(0b111UL, bm[0]);
    }

    [Fact]
    public void IoBusReadsAllOnesWhereNothingListensAndRefusesDoubleClaims()
    {
        var bus = new IoBus();
        Assert.Equal(0xFFu, bus.Read(0x80, 1));
        Assert.Equal(0xFFFFFFFFu, bus.Read(0x80, 4));
        var dev = new EchoPort();
        bus.Register(0x3F8, 8, dev);
        bus.Write(0x3F9, 1, 0x42);
        Assert.Equal(0x42u, bus.Read(0x3F9, 1));
        var e = Assert.Throws<InvalidOperationException>(() => bus.Register(0x3FF, 1, new EchoPort()));
        Assert.Contains("0x3ff", e.Message);
    }

    private sealed class RecordingMmio : IMmioDevice
    {
        public List<(ulong Offset, int Size, ulong Value)> Writes { get; } = [];

        public ulong MmioRead(ulong offset, int size) => 0;

        public void MmioWrite(ulong offset, int size, ulong value) => Writes.Add((offset, size, value));
    }

    private sealed class EchoPort : IIoDevice
    {
        private uint _last;

        public uint IoRead(ushort port, int size) => _last;

        public void IoWrite(ushort port, int size, uint value) => _last = value;
    }
}
