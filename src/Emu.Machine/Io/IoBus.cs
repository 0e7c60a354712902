namespace Emu.Machine.Io;

/// <summary>
/// The x86 port I/O space: 64 Ki ports, each owned by at most one device. Unclaimed ports read as all ones
/// and ignore writes, as on a PC's ISA bus.
/// </summary>
public sealed class IoBus
{
    private readonly IIoDevice?[] _ports = new IIoDevice?[0x10000];

    public void Register(ushort firstPort, int count, IIoDevice device)
    {
        if (count <= 0 || firstPort + count > 0x10000)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"io: range 0x{firstPort:x}+{count} is outside the port space");
        }

        for (int p = firstPort; p < firstPort + count; p++)
        {
            if (_ports[p] != null && _ports[p] != device)
            {
                throw new InvalidOperationException($"io: port 0x{p:x} is already claimed by {_ports[p]!.GetType().Name}");
            }

            _ports[p] = device;
        }
    }

    public IIoDevice? DeviceAt(ushort port) => _ports[port];

    public uint Read(ushort port, int size)
    {
        IIoDevice? d = _ports[port];
        if (d == null)
        {
            Trace.UnclaimedPort(port, size, write: false, 0);
            return size switch { 1 => 0xFFu, 2 => 0xFFFFu, _ => 0xFFFFFFFFu };
        }

        return d.IoRead(port, size);
    }

    /// <summary>Where accesses to unclaimed ports are reported (once per port).</summary>
    public Diagnostics.GuestTrace Trace { get; set; } = Diagnostics.GuestTrace.Off;

    public void Write(ushort port, int size, uint value)
    {
        IIoDevice? d = _ports[port];
        if (d == null)
        {
            Trace.UnclaimedPort(port, size, write: true, value);
            return;
        }

        d.IoWrite(port, size, value);
    }
}
