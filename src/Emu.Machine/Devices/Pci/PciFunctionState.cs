using Emu.Machine.State;

namespace Emu.Machine.Devices.Pci;

/// <summary>A PCI function's migrated state: its configuration space (QEMU's PCIDevice "config" buffer).</summary>
public sealed record PciFunctionState
{
    public byte[] Config { get; init; } = new byte[PciConfigSpace.Size];

    public static VmStateDescription<PciFunctionState> Description(string sectionName) => new(
        sectionName, version: 1, minimumVersion: 1, () => new PciFunctionState(),
        [
            VmField.Buffer<PciFunctionState>("config", PciConfigSpace.Size, s => s.Config, (s, v) => s with { Config = v }),
        ]);
}
