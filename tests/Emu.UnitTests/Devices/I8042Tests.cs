using Emu.Machine.Devices.Keyboard;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class I8042Tests
{
    internal const int KeyA = 0x1E;
    internal const int KeyUp = 0x48;

    private readonly IrqRecorder _irq = new();
    private readonly IoBus _bus = new();
    private readonly I8042 _kbc;
    private int _resets;

    public I8042Tests()
    {
        _kbc = new I8042(_irq) { ResetRequested = () => _resets++ };
        _kbc.Register(_bus);
    }

    [Fact]
    public void SelfTestAnswers55AndInterfaceTest00()
    {
        Command(0xAA);
        Assert.Equal(0x01u, _bus.Read(0x64, 1) & 0x01);
        Assert.Equal(0x55u, _bus.Read(0x60, 1));
        Assert.Equal(0u, _bus.Read(0x64, 1) & 0x01);
        Command(0xAB);
        Assert.Equal(0x00u, _bus.Read(0x60, 1));
        Assert.Equal(0x04u, _bus.Read(0x64, 1) & 0x04);
    }

    [Fact]
    public void CommandByteReadsAndWrites()
    {
        Command(0x20);
        Assert.Equal(0x65u, _bus.Read(0x60, 1));
        Command(0x60);
        _bus.Write(0x60, 1, 0x25);
        Command(0x20);
        Assert.Equal(0x25u, _bus.Read(0x60, 1));
    }

    [Fact]
    public void KeyEventsArriveAsSet1WithTranslation()
    {
        _kbc.KeyEvent(KeyA, extended: false, down: true);
        Assert.True(_irq.Level(1));
        Assert.Equal(0x1Eu, _bus.Read(0x60, 1));
        Assert.False(_irq.Level(1));
        _kbc.KeyEvent(KeyA, extended: false, down: false);
        Assert.Equal(0x9Eu, _bus.Read(0x60, 1));
        _kbc.KeyEvent(KeyUp, extended: true, down: false);
        Assert.Equal([0xE0, 0xC8], Drain());
    }

    [Fact]
    public void KeyEventsArriveAsSet2WithoutTranslation()
    {
        WriteMode(0x05);
        _kbc.KeyEvent(KeyA, extended: false, down: true);
        _kbc.KeyEvent(KeyA, extended: false, down: false);
        _kbc.KeyEvent(KeyUp, extended: true, down: true);
        _kbc.KeyEvent(KeyUp, extended: true, down: false);
        Assert.Equal([0x1C, 0xF0, 0x1C, 0xE0, 0x75, 0xE0, 0xF0, 0x75], Drain());
    }

    [Fact]
    public void EverySet1KeyMapsToASet2CodeThatTranslatesBack()
    {
        WriteMode(0x05);
        for (int code = 0x01; code <= 0x58; code++)
        {
            _kbc.KeyEvent(code, extended: false, down: true);
            Assert.Single(Drain());

            WriteMode(0x45);
            _kbc.KeyEvent(code, extended: false, down: true);
            byte[] set1 = Drain();
            Assert.Equal([(byte)code], set1);
            WriteMode(0x05);
        }
    }

    [Fact]
    public void KeyboardResetAcksAndPassesSelfTest()
    {
        _bus.Write(0x60, 1, 0xFF);
        Assert.Equal([0xFA, 0xAA], Drain());
    }

    [Fact]
    public void IdentifyAndScancodeSetQueries()
    {
        WriteMode(0x05);
        _bus.Write(0x60, 1, 0xF2);
        Assert.Equal([0xFA, 0xAB, 0x83], Drain());
        _bus.Write(0x60, 1, 0xF0);
        _bus.Write(0x60, 1, 0x00);
        Assert.Equal([0xFA, 0xFA, 0x02], Drain());

        // Through translation the 8042 rewrites the second ID byte and the set number, as a PC shows them.
        WriteMode(0x45);
        _bus.Write(0x60, 1, 0xF2);
        Assert.Equal([0xFA, 0xAB, 0x41], Drain());
    }

    [Fact]
    public void Set1KeyboardSendsSet1Codes()
    {
        WriteMode(0x05);
        _bus.Write(0x60, 1, 0xF0);
        _bus.Write(0x60, 1, 0x01);
        Assert.Equal([0xFA, 0xFA], Drain());
        _kbc.KeyEvent(KeyA, extended: false, down: false);
        Assert.Equal([0x9E], Drain());
    }

    [Fact]
    public void DisableScanningDropsKeysAndEnableRestores()
    {
        _bus.Write(0x60, 1, 0xF5);
        Assert.Equal([0xFA], Drain());
        _kbc.KeyEvent(KeyA, false, true);
        Assert.Empty(Drain());
        _bus.Write(0x60, 1, 0xF4);
        Assert.Equal([0xFA], Drain());
        _kbc.KeyEvent(KeyA, false, true);
        Assert.Equal([0x1E], Drain());
    }

    [Fact]
    public void LedsCommandTakesAParameter()
    {
        _bus.Write(0x60, 1, 0xED);
        _bus.Write(0x60, 1, 0x07);
        Assert.Equal([0xFA, 0xFA], Drain());
        Assert.Equal(7, _kbc.Save().Leds);
    }

    [Fact]
    public void DisabledInterfaceHoldsKeysUntilEnabled()
    {
        Command(0xAD);
        _kbc.KeyEvent(KeyA, false, true);
        Assert.Equal(0u, _bus.Read(0x64, 1) & 1);
        Command(0xAE);
        Assert.Equal([0x1E], Drain());
    }

    [Fact]
    public void OutputPortA20AndResetPulse()
    {
        Assert.True(_kbc.A20Enabled);
        Command(0xD1);
        _bus.Write(0x60, 1, 0x01);
        Assert.False(_kbc.A20Enabled);
        Assert.Equal(0, _resets);
        Command(0xD0);
        Assert.Equal(0x01u, _bus.Read(0x60, 1));
        Command(0xFE);
        Assert.Equal(1, _resets);
        Command(0xD1);
        _bus.Write(0x60, 1, 0x02);
        Assert.Equal(2, _resets);
    }

    [Fact]
    public void WriteOutputBufferEchoesThroughPort60()
    {
        Command(0xD2);
        _bus.Write(0x60, 1, 0x42);
        Assert.Equal([0x42], Drain());
    }

    [Fact]
    public void KeyEventsFromAnotherThreadAllArrive()
    {
        WriteMode(0x05);
        var got = new List<byte>();
        var typist = new Thread(() =>
        {
            for (int i = 0; i < 200; i++)
            {
                while (_kbc.Save().KeyboardQueueCount > 10)
                {
                    Thread.Yield();
                }

                _kbc.KeyEvent(KeyA, false, true);
            }
        });
        typist.Start();
        while (got.Count < 200)
        {
            if ((_bus.Read(0x64, 1) & 1) != 0)
            {
                got.Add((byte)_bus.Read(0x60, 1));
            }
        }

        typist.Join();
        Assert.All(got, b => Assert.Equal(0x1C, b));
    }

    [Fact]
    public void StateRoundTripKeepsQueuedKeys()
    {
        WriteMode(0x05);
        _kbc.KeyEvent(KeyA, false, true);
        _kbc.KeyEvent(KeyA, false, false);
        _bus.Write(0x60, 1, 0xED);
        var fresh = new I8042(new IrqRecorder());
        I8042State s = DeviceStateAssert.RoundTrip(_kbc, fresh);
        Assert.Equal(0xED, s.KeyboardPendingCommand);
        Assert.Equal(0x1Cu, fresh.IoRead(0x60, 1));
        Assert.Equal(0xF0u, fresh.IoRead(0x60, 1));
    }

    [Fact]
    public void BadStateIsRefused()
    {
        _kbc.KeyEvent(KeyA, false, true);
        DeviceStateAssert.RefusesBadLoads(_kbc, _kbc.Save() with { ScancodeSet = 4 });
        DeviceStateAssert.RefusesBadLoads(_kbc, _kbc.Save() with { KeyboardQueueCount = 17 });
    }

    private void Command(byte value) => _bus.Write(0x64, 1, value);

    private void WriteMode(byte mode)
    {
        Command(0x60);
        _bus.Write(0x60, 1, mode);
    }

    private byte[] Drain()
    {
        var bytes = new List<byte>();
        while ((_bus.Read(0x64, 1) & 1) != 0)
        {
            bytes.Add((byte)_bus.Read(0x60, 1));
        }

        return [.. bytes];
    }
}
