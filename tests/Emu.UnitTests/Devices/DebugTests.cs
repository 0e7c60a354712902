using Emu.Machine.Devices.Debug;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class DebugTests
{
    [Fact]
    public void DebugConWritesBytesAndReadsAsE9()
    {
        var output = new CaptureBackend();
        var bus = new IoBus();
        new DebugCon(output).Register(bus);
        foreach (char c in "dbg\n")
        {
            bus.Write(0xE9, 1, c);
        }

        Assert.Equal("dbg\n", output.Text);
        Assert.Equal(0xE9u, bus.Read(0xE9, 1));
    }

    [Fact]
    public void DebugConWithoutBackendSwallowsOutput()
    {
        var bus = new IoBus();
        new DebugCon(null).Register(bus);
        bus.Write(0xE9, 1, 'x');
        Assert.Equal(0xE9u, bus.Read(0xE9, 1));
    }

    [Theory]
    [InlineData(1, 0x00u, 1)]
    [InlineData(1, 0x01u, 3)]
    [InlineData(2, 0x1234u, 0x2469)]
    public void DebugExitReportsValueShiftedWithLowBitSet(int size, uint value, int expected)
    {
        var codes = new List<int>();
        var bus = new IoBus();
        new IsaDebugExit(codes.Add).Register(bus);
        bus.Write(0x501, size, value);
        Assert.Equal([expected], codes);
    }

    [Fact]
    public void DebugExitClaimsBothPortsOfItsRange()
    {
        var codes = new List<int>();
        var bus = new IoBus();
        new IsaDebugExit(codes.Add).Register(bus);
        bus.Write(0x502, 1, 2);
        Assert.Equal([5], codes);
    }
}
