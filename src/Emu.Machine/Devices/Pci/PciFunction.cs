using Emu.Machine.State;

namespace Emu.Machine.Devices.Pci;

/// <summary>
/// One PCI function on bus 0: its configuration space, reached through the host bridge's configuration
/// mechanism #1. Devices react to writes in <see cref="ConfigWritten"/> (BAR moves, PAM changes). The space
/// migrates as its own section (QEMU's VMSTATE_PCI_DEVICE: the 256 bytes of config).
/// </summary>
public abstract class PciFunction : IVmState<PciFunctionState>
{
    private readonly VmStateDescription<PciFunctionState> _vmsd;

    protected PciFunction(string sectionName, byte device, byte function, PciConfigSpace config)
    {
        Device = device;
        Function = function;
        Config = config;
        _vmsd = PciFunctionState.Description(sectionName);
        ResetValues = config.Bytes.ToArray();
    }

    public byte Device { get; }

    public byte Function { get; }

    /// <summary>Device and function as the PCI address's devfn byte.</summary>
    public int DevFn => (Device << 3) | Function;

    public PciConfigSpace Config { get; }

    public string SectionName => _vmsd.Name;

    public VmStateDescription<PciFunctionState> Vmsd => _vmsd;

    private byte[] ResetValues { get; }

    public uint ReadConfig(int offset, int size) => Config.GuestRead(offset, size);

    public void WriteConfig(int offset, int size, uint value)
    {
        Config.GuestWrite(offset, size, value);
        ConfigWritten(offset, size);
    }

    /// <summary>Power-on: the configuration space as built, then whatever the device maps from it.</summary>
    public virtual void Reset()
    {
        Config.Restore(ResetValues);
        ConfigChanged();
    }

    /// <summary>After a guest write of <paramref name="size"/> bytes at <paramref name="offset"/>.</summary>
    protected virtual void ConfigWritten(int offset, int size) => ConfigChanged();

    /// <summary>The whole space may have changed (reset, state load): re-derive mappings.</summary>
    protected virtual void ConfigChanged()
    {
    }

    public PciFunctionState Save() => new() { Config = Config.Bytes.ToArray() };

    /// <summary>Validate, then apply: read-only bits from the wire (a BAR's low bits) would map nonsense.</summary>
    public void Load(PciFunctionState state)
    {
        int at = Config.FirstReadOnlyDifference(state.Config);
        if (at >= 0)
        {
            int readOnly = ~Config.WriteMask(at) & 0xFF;
            throw new VmStateException($"pci: {SectionName} config byte 0x{at:x2} is 0x{state.Config[at]:x2}, but its read-only bits 0x{readOnly:x2} are 0x{Config.U8(at) & readOnly:x2} on this device");
        }

        Config.Restore(state.Config);
        ConfigChanged();
    }

    /// <summary>True when <paramref name="offset"/>..+<paramref name="size"/> touches <paramref name="start"/>..+<paramref name="length"/>.</summary>
    protected static bool Touches(int offset, int size, int start, int length) => offset < start + length && start < offset + size;
}
