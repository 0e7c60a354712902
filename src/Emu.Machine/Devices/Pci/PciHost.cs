using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Pci;

/// <summary>
/// PCI configuration mechanism #1 for bus 0 (the i440FX's CONFIG_ADDRESS at 0xCF8 and CONFIG_DATA at 0xCFC–0xCFF):
/// the address register selects enable bit 31, bus, device, function and a dword register; the data port reads or
/// writes it at the byte the port offset names. Reads of a function that is not there return all ones.
/// </summary>
public sealed class PciHost : IIoDevice, IVmState<PciHostState>
{
    public const ushort AddressPort = 0xCF8, DataPort = 0xCFC;

    public static readonly VmStateDescription<PciHostState> StateDescription = new(
        "pci-host", version: 1, minimumVersion: 1, () => new PciHostState(),
        [VmField.U32<PciHostState>("config_reg", s => s.ConfigAddress, (s, v) => s with { ConfigAddress = v })]);

    private readonly PciFunction?[] _functions = new PciFunction?[256];
    private uint _address;

    public string SectionName => StateDescription.Name;

    public VmStateDescription<PciHostState> Vmsd => StateDescription;

    public IEnumerable<PciFunction> Functions => _functions.OfType<PciFunction>();

    public void Register(IoBus bus)
    {
        bus.Register(AddressPort, 4, this);
        bus.Register(DataPort, 4, this);
    }

    public void Add(PciFunction function)
    {
        if (_functions[function.DevFn] != null)
        {
            throw new InvalidOperationException($"pci: 00:{function.Device:x2}.{function.Function} is taken");
        }

        _functions[function.DevFn] = function;
    }

    public PciFunction? Find(int device, int function) => _functions[(device << 3) | function];

    public void Reset()
    {
        _address = 0;
        foreach (PciFunction f in Functions)
        {
            f.Reset();
        }
    }

    public uint IoRead(ushort port, int size)
    {
        if (port < DataPort)
        {
            // Only a dword access reaches CONFIG_ADDRESS; narrower ones go to the ISA bus behind it.
            return size == 4 && port == AddressPort ? _address : 0xFFFF_FFFFu;
        }

        PciFunction? f = Selected(out int register);
        int offset = register + (port - DataPort);
        if (f == null)
        {
            return size == 4 ? 0xFFFF_FFFFu : (1u << (8 * size)) - 1;
        }

        return f.ReadConfig(offset, Math.Min(size, PciConfigSpace.Size - offset));
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        if (port < DataPort)
        {
            if (size == 4 && port == AddressPort)
            {
                _address = value & 0x80FF_FFFC;
            }

            return;
        }

        PciFunction? f = Selected(out int register);
        f?.WriteConfig(register + (port - DataPort), size, value);
    }

    /// <summary>The function CONFIG_ADDRESS selects on bus 0 with the enable bit set, and its register offset.</summary>
    private PciFunction? Selected(out int register)
    {
        register = (int)(_address & 0xFC);
        if ((_address & 0x8000_0000) == 0 || ((_address >> 16) & 0xFF) != 0)
        {
            return null;
        }

        return _functions[(_address >> 8) & 0xFF];
    }

    public PciHostState Save() => new() { ConfigAddress = _address };

    public void Load(PciHostState state) => _address = state.ConfigAddress & 0x80FF_FFFC;
}

/// <summary>The host bridge's CONFIG_ADDRESS register.</summary>
public sealed record PciHostState
{
    public uint ConfigAddress { get; init; }
}
