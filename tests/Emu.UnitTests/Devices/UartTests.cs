using Emu.Machine.Devices.Serial;
using Emu.Machine.Io;

namespace Emu.UnitTests.Devices;

public sealed class UartTests
{
    internal const ushort Com1 = 0x3F8;

    private readonly IrqRecorder _irq = new();
    private readonly CaptureBackend _out = new();
    private readonly IoBus _bus = new();
    private readonly Uart16550 _uart;

    public UartTests()
    {
        _uart = new Uart16550(_irq, 4, _out);
        _uart.Register(_bus, Com1);
    }

    [Fact]
    public void TransmitGoesToBackendAndThrIsEmptyAtOnce()
    {
        Assert.Equal(0x60u, Reg(5));
        foreach (char c in "Hi!")
        {
            Write(0, c);
            Assert.Equal(0x60u, Reg(5) & 0x60);
        }

        Assert.Equal("Hi!", _out.Text);
    }

    [Fact]
    public void ThrEmptyInterruptIsRaisedAcknowledgedByIirAndRaisedAgainByTransmit()
    {
        Write(1, 0x02);
        Assert.True(_irq.Level(4));
        Assert.Equal(0x02u, Reg(2));
        Assert.False(_irq.Level(4));
        Assert.Equal(0x01u, Reg(2));

        Write(0, 'x');
        Assert.True(_irq.Level(4));
        Assert.Equal(2, _irq.RisingEdges(4));
    }

    [Fact]
    public void ReceiveWithoutFifoHoldsOneByteAndTheRestWaits()
    {
        Write(1, 0x01);
        _uart.Receive("ab"u8);
        Assert.True(_irq.Level(4));
        Assert.Equal(0x04u, Reg(2));
        Assert.Equal(0x61u, Reg(5));
        Assert.Equal((uint)'a', Reg(0));
        Assert.Equal((uint)'b', Reg(0));
        Assert.Equal(0x60u, Reg(5));
        Assert.False(_irq.Level(4));
    }

    [Fact]
    public void FifoTriggerLevelGatesDataAvailableAndTimeoutCoversTheRest()
    {
        Write(2, 0x41); // FIFO on, trigger at 4 bytes
        Write(1, 0x01);
        Assert.Equal(0xC1u, Reg(2));

        _uart.Receive("12345"u8);
        Assert.Equal(0xC4u, Reg(2));
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal((uint)('1' + i), Reg(0));
        }

        Assert.False(_irq.Level(4));

        // Below the trigger level a finished burst reports the character timeout.
        _uart.Receive("xy"u8);
        Assert.Equal(0xCCu, Reg(2));
        Assert.True(_irq.Level(4));
        Assert.Equal((uint)'x', Reg(0));
        Assert.Equal((uint)'y', Reg(0));
        Assert.Equal(0xC1u, Reg(2));
    }

    [Fact]
    public void HostInputBeyondTheFifoWaitsInsteadOfOverrunning()
    {
        Write(2, 0x01);
        byte[] input = [.. Enumerable.Range(0, 40).Select(i => (byte)(0x30 + i))];
        _uart.Receive(input);
        var got = new List<byte>();
        while ((Reg(5) & 1) != 0)
        {
            got.Add((byte)Reg(0));
        }

        Assert.Equal(input, got);
        Assert.Equal(0u, Reg(5) & 0x02);
    }

    [Fact]
    public void FifoResetDropsReceivedBytes()
    {
        Write(2, 0x01);
        _uart.Receive("abc"u8);
        Write(2, 0x03);
        Assert.Equal(0x60u, Reg(5));
    }

    [Fact]
    public void LoopbackReturnsOutputAndMirrorsModemLines()
    {
        Write(4, 0x10);
        Write(0, 'L');
        Assert.Equal(string.Empty, _out.Text);
        Assert.Equal(1u, Reg(5) & 1);
        Assert.Equal((uint)'L', Reg(0));

        Write(4, 0x1F);
        Assert.Equal(0xF0u, Reg(6));
        Write(4, 0x11);
        Assert.Equal(0x20u, Reg(6));
    }

    [Fact]
    public void LoopbackWithoutFifoOverrunsAndLsrReadClearsIt()
    {
        Write(1, 0x04);
        Write(4, 0x10);
        Write(0, '1');
        Write(0, '2');
        Assert.True(_irq.Level(4));
        Assert.Equal(0x63u, Reg(5));
        Assert.Equal(0x61u, Reg(5));
        Assert.False(_irq.Level(4));
        Assert.Equal((uint)'2', Reg(0));
    }

    [Fact]
    public void DivisorLatchAndScratchRegister()
    {
        Write(3, 0x80);
        Write(0, 0x01);
        Write(1, 0x02);
        Assert.Equal(0x01u, Reg(0));
        Assert.Equal(0x02u, Reg(1));
        Write(3, 0x03);
        Assert.Equal(0x00u, Reg(1));
        Write(7, 0x5A);
        Assert.Equal(0x5Au, Reg(7));
        Assert.Equal(0x03u, Reg(3));
    }

    [Fact]
    public async Task ReceiveFromAnotherThreadArrivesInOrder()
    {
        Write(2, 0x01);
        const int Count = 5000;
        var sender = Task.Run(() =>
        {
            for (int i = 0; i < Count; i++)
            {
                _uart.Receive([(byte)i]);
            }
        });
        var got = new List<byte>();
        while (got.Count < Count)
        {
            if ((Reg(5) & 1) != 0)
            {
                got.Add((byte)Reg(0));
            }
        }

        await sender;
        Assert.Equal(Enumerable.Range(0, Count).Select(i => (byte)i), got);
    }

    [Fact]
    public void StateRoundTripCarriesTheFifo()
    {
        Write(2, 0xC1);
        Write(1, 0x03);
        Write(7, 0x77);
        _uart.Receive("fifo"u8);
        var fresh = new Uart16550(new IrqRecorder(), 4, null);
        fresh.Register(new IoBus(), Com1);
        UartState s = DeviceStateAssert.RoundTrip(_uart, fresh);
        Assert.Equal(4, s.RxCount);
        Assert.Equal((byte)'f', fresh.IoRead(Com1, 1));
        Assert.Equal((byte)'i', fresh.IoRead(Com1, 1));
    }

    [Fact]
    public void BadStateIsRefused()
    {
        _uart.Receive("z"u8);
        DeviceStateAssert.RefusesBadLoads(_uart, _uart.Save() with { RxCount = 17 });
        DeviceStateAssert.RefusesBadLoads(_uart, _uart.Save() with { Iir = 0x08 });
    }

    private uint Reg(int offset) => _bus.Read((ushort)(Com1 + offset), 1);

    private void Write(int offset, int value) => _bus.Write((ushort)(Com1 + offset), 1, (uint)value);
}
