using System.Buffers.Binary;
using System.Text;
using Emu.Machine.Devices.FwCfg;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class FwCfgTests
{
    private readonly FwCfg _fwCfg = new(128UL << 20, cpuCount: 2, bootDevice: 'c');
    private readonly IoBus _bus = new();

    public FwCfgTests() => _fwCfg.Register(_bus);

    [Fact]
    public void SignatureAndId()
    {
        Assert.Equal("QEMU", Encoding.ASCII.GetString(Read(FwCfgKey.Signature, 4)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(Read(FwCfgKey.Id, 4)));
    }

    [Fact]
    public void RamSizeCpusAndBootDevice()
    {
        Assert.Equal(128UL << 20, BinaryPrimitives.ReadUInt64LittleEndian(Read(FwCfgKey.RamSize, 8)));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(Read(FwCfgKey.NbCpus, 2)));
        Assert.Equal('c', (char)BinaryPrimitives.ReadUInt16LittleEndian(Read(FwCfgKey.BootDevice, 2)));
    }

    [Fact]
    public void ReadsPastTheEndAndUnknownKeysGiveZero()
    {
        Assert.Equal([(byte)'Q', (byte)'E', (byte)'M', (byte)'U', 0, 0], Read(FwCfgKey.Signature, 6));
        Assert.Equal(new byte[4], Read(0x1F, 4));
        Assert.Equal(new byte[4], Read(0x3FFF, 4));
    }

    [Fact]
    public void FileDirectoryListsFilesSortedWithSizeAndSelector()
    {
        _fwCfg.AddFile("opt/zeta", [1, 2, 3]);
        _fwCfg.AddFile("bootorder", Encoding.ASCII.GetBytes("/ide@0\n"));
        byte[] dir = Read(FwCfgKey.FileDir, 4 + (2 * 64));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(dir));

        (uint size, ushort select, string name) Entry(int i)
        {
            ReadOnlySpan<byte> e = dir.AsSpan(4 + (64 * i), 64);
            return (BinaryPrimitives.ReadUInt32BigEndian(e), BinaryPrimitives.ReadUInt16BigEndian(e[4..]),
                Encoding.ASCII.GetString(e[8..]).TrimEnd('\0'));
        }

        Assert.Equal((7u, (ushort)0x20, "bootorder"), Entry(0));
        Assert.Equal((3u, (ushort)0x21, "opt/zeta"), Entry(1));
        Assert.Equal("/ide@0\n", Encoding.ASCII.GetString(Read(0x20, 7)));
        Assert.Equal([1, 2, 3], Read(0x21, 3));
        Assert.Equal(0x21, _fwCfg.FileKey("opt/zeta"));
    }

    [Fact]
    public void MisuseIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _fwCfg.AddBytes(FwCfgKey.FileDir, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _fwCfg.AddBytes(0x20, [1]));
        Assert.Throws<ArgumentException>(() => _fwCfg.AddFile(new string('n', 56), [1]));
        _fwCfg.AddFile("a", [1]);
        Assert.Throws<ArgumentException>(() => _fwCfg.AddFile("a", [2]));
    }

    [Fact]
    public void ArchLocalItemsAreSeparate()
    {
        _fwCfg.AddU32(FwCfgKey.ArchLocal | 0x03, 0xCAFEBABE);
        Assert.Equal(0xCAFEBABEu, BinaryPrimitives.ReadUInt32LittleEndian(Read(FwCfgKey.ArchLocal | 0x03, 4)));
        Assert.Equal(128UL << 20, BinaryPrimitives.ReadUInt64LittleEndian(Read(FwCfgKey.RamSize, 8)));
    }

    [Fact]
    public void StateRoundTripContinuesMidItem()
    {
        _bus.Write(FwCfg.SelectorPort, 2, FwCfgKey.Signature);
        _bus.Read(FwCfg.DataPort, 1);
        _bus.Read(FwCfg.DataPort, 1);
        var fresh = new FwCfg(128UL << 20, cpuCount: 2);
        FwCfgState s = DeviceStateAssert.RoundTrip(_fwCfg, fresh);
        Assert.Equal(2u, s.CurOffset);
        Assert.Equal((uint)'M', fresh.IoRead(FwCfg.DataPort, 1));
    }

    [Fact]
    public void BadStateIsRefused()
    {
        _bus.Write(FwCfg.SelectorPort, 2, FwCfgKey.RamSize);
        DeviceStateAssert.RefusesBadLoads(_fwCfg, new FwCfgState { CurEntry = 0x0100 });
        DeviceStateAssert.RefusesBadLoads(_fwCfg, new FwCfgState { CurEntry = FwCfgKey.Signature, CurOffset = 5 });
    }

    private byte[] Read(int key, int count)
    {
        _bus.Write(FwCfg.SelectorPort, 2, (uint)key);
        var b = new byte[count];
        for (int i = 0; i < count; i++)
        {
            b[i] = (byte)_bus.Read(FwCfg.DataPort, 1);
        }

        return b;
    }
}
