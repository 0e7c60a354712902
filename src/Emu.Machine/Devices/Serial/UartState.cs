namespace Emu.Machine.Devices.Serial;

/// <summary>The 16550A's migrated state (QEMU vmstate_serial, with the receive FIFO's contents inline).</summary>
public sealed record UartState
{
    public ushort Divider { get; init; } = 0x0C;

    public byte Rbr { get; init; }

    public byte Ier { get; init; }

    public byte Iir { get; init; } = 0x01;

    public byte Lcr { get; init; }

    public byte Mcr { get; init; } = 0x08;

    public byte Lsr { get; init; } = 0x60;

    public byte Msr { get; init; } = 0xB0;

    public byte Scr { get; init; }

    public byte Fcr { get; init; }

    public bool ThrIpending { get; init; }

    public bool TimeoutIpending { get; init; }

    /// <summary>The receive FIFO, oldest byte first, zero-padded to 16.</summary>
    public ImmutableBytes RxFifo { get; init; } = ImmutableBytes.Zero(Uart16550.FifoSize);

    public byte RxCount { get; init; }
}
