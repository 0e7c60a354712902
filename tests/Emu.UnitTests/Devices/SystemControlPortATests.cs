using Emu.Machine.Devices.SysCtl;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class SystemControlPortATests
{
    private readonly SystemControlPortA _port = new();
    private readonly IoBus _bus = new();
    private int _resets;

    public SystemControlPortATests()
    {
        _port.ResetRequested = () => _resets++;
        _port.Register(_bus);
    }

    [Fact]
    public void FastA20BitIsKeptAndReadable()
    {
        Assert.False(_port.A20Enabled);
        _bus.Write(0x92, 1, 0xC2);
        Assert.True(_port.A20Enabled);
        Assert.Equal(0x02u, _bus.Read(0x92, 1));
        Assert.Equal(0, _resets);
    }

    [Fact]
    public void ResetOnRisingBit0Only()
    {
        _bus.Write(0x92, 1, 0x03);
        Assert.Equal(1, _resets);
        _bus.Write(0x92, 1, 0x03);
        Assert.Equal(1, _resets);
        _port.Reset();
        Assert.Equal(0x02u, _bus.Read(0x92, 1));
        _bus.Write(0x92, 1, 0x01);
        Assert.Equal(2, _resets);
    }

    [Fact]
    public void StateRoundTripAndRefusal()
    {
        _bus.Write(0x92, 1, 0x02);
        Assert.Equal(0x02, DeviceStateAssert.RoundTrip(_port, new SystemControlPortA()).Outport);
        DeviceStateAssert.RefusesBadLoads(_port, new Port92State { Outport = 0x80 });
    }
}
