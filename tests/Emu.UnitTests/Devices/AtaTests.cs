using System.Buffers.Binary;
using System.Text;
using Emu.Machine.Devices.Ata;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class AtaTests : IDisposable
{
    internal const int Sectors = 2048;

    private readonly string _path = Path.Combine(Path.GetTempPath(), $"emu-ata-{Guid.NewGuid():N}.img");
    private readonly IrqRecorder _irq = new();
    private readonly IoBus _bus = new();
    private readonly AtaController _ata;

    public AtaTests()
    {
        var image = new byte[Sectors * 512];
        for (int s = 0; s < Sectors; s++)
        {
            image.AsSpan(s * 512, 512).Fill((byte)(s * 7));
            BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan(s * 512), s);
        }

        File.WriteAllBytes(_path, image);
        _ata = new AtaController(_irq, _path);
        _ata.Register(_bus);
    }

    public void Dispose()
    {
        _ata.Dispose();
        File.Delete(_path);
    }

    [Fact]
    public void IdentifyReportsGeometryCapacityAndModel()
    {
        Assert.Equal(0x50u, Status());
        _bus.Write(0x1F6, 1, 0xA0);
        _bus.Write(0x1F7, 1, 0xEC);
        Assert.True(_irq.Level(14));
        Assert.Equal(0x58u, Status());
        Assert.False(_irq.Level(14));
        byte[] id = ReadWords(256);
        ushort W(int i) => BinaryPrimitives.ReadUInt16LittleEndian(id.AsSpan(i * 2));
        Assert.Equal(0x0040, W(0));
        Assert.Equal(2, W(1));
        Assert.Equal(16, W(3));
        Assert.Equal(63, W(6));
        Assert.Equal(0x8010, W(47));
        Assert.NotEqual(0, W(49) & (1 << 9));
        Assert.Equal(Sectors, W(60) | (W(61) << 16));
        var model = new StringBuilder();
        for (int i = 27; i < 47; i++)
        {
            model.Append((char)(W(i) >> 8)).Append((char)(W(i) & 0xFF));
        }

        Assert.Equal("EMU HARDDISK", model.ToString().TrimEnd());
        Assert.Equal(0x50u, Status());
    }

    [Fact]
    public void ReadSectorsLba28With16BitPort()
    {
        SetLba(5, 2);
        _bus.Write(0x1F7, 1, 0x20);
        Assert.Equal(0x58u, Status());
        Assert.Equal(SectorPattern(5), ReadWords(256));
        Assert.Equal(2, _irq.RisingEdges(14));
        Assert.Equal(0x58u, Status());
        Assert.Equal(SectorPattern(6), ReadWords(256));
        Assert.Equal(0x50u, Status());

        // The task file points past the last sector and the count ran down.
        Assert.Equal(7u, _bus.Read(0x1F3, 1));
        Assert.Equal(0u, _bus.Read(0x1F2, 1));
    }

    [Fact]
    public void ReadSectorsWith32BitPort()
    {
        SetLba(1000, 1);
        _bus.Write(0x1F7, 1, 0x20);
        var data = new byte[512];
        for (int i = 0; i < 128; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(i * 4), _bus.Read(0x1F0, 4));
        }

        Assert.Equal(SectorPattern(1000), data);
    }

    [Fact]
    public void ReadSectorsByChs()
    {
        // Cylinder 1, head 2, sector 3 with 16 heads × 63 sectors: LBA (1 × 16 + 2) × 63 + 2 = 1136.
        _bus.Write(0x1F2, 1, 1);
        _bus.Write(0x1F3, 1, 3);
        _bus.Write(0x1F4, 1, 1);
        _bus.Write(0x1F5, 1, 0);
        _bus.Write(0x1F6, 1, 0xA2);
        _bus.Write(0x1F7, 1, 0x20);
        Assert.Equal(SectorPattern(1136), ReadWords(256));
    }

    [Fact]
    public void InitializeDeviceParametersChangesTheChsTranslation()
    {
        _bus.Write(0x1F2, 1, 32);
        _bus.Write(0x1F6, 1, 0xA3);
        _bus.Write(0x1F7, 1, 0x91);
        Assert.Equal(0x50u, Status());

        // Now 4 heads × 32 sectors: cylinder 2, head 1, sector 5 is (2 × 4 + 1) × 32 + 4 = 292.
        _bus.Write(0x1F2, 1, 1);
        _bus.Write(0x1F3, 1, 5);
        _bus.Write(0x1F4, 1, 2);
        _bus.Write(0x1F5, 1, 0);
        _bus.Write(0x1F6, 1, 0xA1);
        _bus.Write(0x1F7, 1, 0x20);
        Assert.Equal(SectorPattern(292), ReadWords(256));
    }

    [Fact]
    public void WriteSectorsReachTheFileAtOnce()
    {
        SetLba(10, 2);
        _bus.Write(0x1F7, 1, 0x30);
        Assert.Equal(0x58u, _bus.Read(0x3F6, 1));
        Assert.False(_irq.Level(14));
        WriteWords(Enumerable.Repeat((byte)0xAB, 512).ToArray());
        Assert.True(_irq.Level(14));
        Assert.Equal(0xABu, ReadFileByte((10 * 512) + 511));
        Assert.Equal(0x58u, Status());
        WriteWords(Enumerable.Repeat((byte)0xCD, 512).ToArray());
        Assert.Equal(0x50u, Status());
        Assert.Equal(0xCDu, ReadFileByte(11 * 512));
        Assert.Equal(12 * 7 % 256, (int)ReadFileByte((12 * 512) + 100));

        // And reading them back through the device.
        SetLba(11, 1);
        _bus.Write(0x1F7, 1, 0x20);
        Assert.All(ReadWords(256), b => Assert.Equal(0xCD, b));
    }

    [Fact]
    public void ReadAndWriteMultipleMoveBlocksPerInterrupt()
    {
        _bus.Write(0x1F2, 1, 4);
        _bus.Write(0x1F7, 1, 0xC6);
        Assert.Equal(0x50u, Status());
        SetLba(100, 8);
        _bus.Write(0x1F7, 1, 0xC4);
        Assert.Equal(0x58u, Status());
        byte[] block = ReadWords(4 * 256);
        Assert.Equal(SectorPattern(103), block.AsSpan(3 * 512, 512).ToArray());
        Assert.Equal(0x58u, Status());
        ReadWords(4 * 256);
        Assert.Equal(0x50u, Status());
        Assert.Equal(2, _irq.RisingEdges(14) - 1);

        SetLba(200, 4);
        _bus.Write(0x1F7, 1, 0xC5);
        WriteWords(new byte[4 * 512]);
        Assert.Equal(0x50u, Status());
        Assert.Equal(0u, ReadFileByte(203 * 512));
    }

    [Fact]
    public void OutOfRangeAndUnknownCommandsAbort()
    {
        SetLba(Sectors - 1, 2);
        _bus.Write(0x1F7, 1, 0x20);
        Assert.Equal(0x51u, Status());
        Assert.Equal(0x14u, _bus.Read(0x1F1, 1));

        _bus.Write(0x1F7, 1, 0xA1);
        Assert.Equal(0x51u, Status());
        Assert.Equal(0x04u, _bus.Read(0x1F1, 1));

        _bus.Write(0x1F1, 1, 0x03);
        _bus.Write(0x1F2, 1, 0x0C);
        _bus.Write(0x1F7, 1, 0xEF);
        Assert.Equal(0x50u, Status());
    }

    [Fact]
    public void SlaveAndMissingDiskReadZero()
    {
        _bus.Write(0x1F6, 1, 0xB0);
        Assert.Equal(0u, Status());
        _bus.Write(0x1F7, 1, 0xEC);
        Assert.False(_irq.Level(14));

        using var empty = new AtaController(new IrqRecorder(), null);
        var bus = new IoBus();
        empty.Register(bus);
        Assert.Equal(0u, bus.Read(0x1F7, 1));
        Assert.Equal(0u, bus.Read(0x3F6, 1));
        Assert.False(empty.HasDrive);
    }

    [Fact]
    public void SoftResetRestoresSignatureAndNienMasksTheInterrupt()
    {
        SetLba(300, 3);
        _bus.Write(0x3F6, 1, 0x06);
        Assert.Equal(0x90u, _bus.Read(0x3F6, 1));
        _bus.Write(0x3F6, 1, 0x02);
        Assert.Equal(0x50u, _bus.Read(0x3F6, 1));
        Assert.Equal(1u, _bus.Read(0x1F2, 1));
        Assert.Equal(1u, _bus.Read(0x1F3, 1));
        Assert.Equal(0x01u, _bus.Read(0x1F1, 1));

        _bus.Write(0x1F7, 1, 0xEC);
        Assert.False(_irq.Level(14));
        _bus.Write(0x3F6, 1, 0x00);
        Assert.True(_irq.Level(14));
    }

    [Fact]
    public void StateRoundTripContinuesATransferMidSector()
    {
        SetLba(40, 2);
        _bus.Write(0x1F7, 1, 0x20);
        byte[] head = ReadWords(100);
        using var dest = new AtaController(new IrqRecorder(), _path);
        AtaState s = DeviceStateAssert.RoundTrip(_ata, dest);
        Assert.Equal(AtaTransferKind.Read, s.Transfer);
        var bus = new IoBus();
        dest.Register(bus);
        var rest = new byte[(512 * 2) - 200];
        for (int i = 0; i < rest.Length; i += 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(rest.AsSpan(i), (ushort)bus.Read(0x1F0, 2));
        }

        Assert.Equal(SectorPattern(40).Concat(SectorPattern(41)), head.Concat(rest));
    }

    [Fact]
    public void BadStateIsRefused()
    {
        SetLba(40, 1);
        _bus.Write(0x1F7, 1, 0x20);
        AtaState s = _ata.Save();
        DeviceStateAssert.RefusesBadLoads(_ata, s with { DataPos = 600 });
        DeviceStateAssert.RefusesBadLoads(_ata, s with { Heads = 0 });
        DeviceStateAssert.RefusesBadLoads(_ata, s with { Lba = Sectors });
    }

    [Fact]
    public void MissingImageIsAClearError()
    {
        DiskImageException e = Assert.Throws<DiskImageException>(() => new AtaController(new IrqRecorder(), _path + ".missing"));
        Assert.StartsWith("ata: cannot open disk image", e.Message);
    }

    private static byte[] SectorPattern(int sector)
    {
        var b = new byte[512];
        b.AsSpan().Fill((byte)(sector * 7));
        BinaryPrimitives.WriteInt32LittleEndian(b, sector);
        return b;
    }

    private uint Status() => _bus.Read(0x1F7, 1);

    private void SetLba(int lba, int count)
    {
        _bus.Write(0x1F2, 1, (uint)count);
        _bus.Write(0x1F3, 1, (uint)(lba & 0xFF));
        _bus.Write(0x1F4, 1, (uint)((lba >> 8) & 0xFF));
        _bus.Write(0x1F5, 1, (uint)((lba >> 16) & 0xFF));
        _bus.Write(0x1F6, 1, (uint)(0xE0 | ((lba >> 24) & 0x0F)));
    }

    private byte[] ReadWords(int words)
    {
        var b = new byte[words * 2];
        for (int i = 0; i < words; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), (ushort)_bus.Read(0x1F0, 2));
        }

        return b;
    }

    private void WriteWords(byte[] data)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            _bus.Write(0x1F0, 2, BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(i)));
        }
    }

    private uint ReadFileByte(long offset)
    {
        using var f = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Position = offset;
        return (uint)f.ReadByte();
    }
}
