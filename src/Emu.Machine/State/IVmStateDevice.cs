namespace Emu.Machine.State;

/// <summary>
/// Anything whose state migrates as one section (QEMU vmstate_register): the CPU and every device.
/// </summary>
public interface IVmStateDevice
{
    /// <summary>Section idstr (QEMU's where one exists: "cpu", "i8259", "mc146818rtc").</summary>
    string SectionName { get; }

    /// <summary>QEMU's instance_id: tells apart two devices of one kind (the master and slave PIC).</summary>
    int InstanceId => 0;

    IVmStateDescription Description { get; }

    void SaveState(IStateWriter w);

    /// <summary>Parses and validates, then applies; on error the device is left as it was.</summary>
    void LoadState(IStateReader r, int versionId);
}

/// <summary>
/// A device whose live object is not its wire format: <see cref="Save"/> returns an immutable record,
/// <see cref="Load"/> applies a record that <see cref="Vmsd"/> has already validated.
/// </summary>
public interface IVmState<TState> : IVmStateDevice
{
    VmStateDescription<TState> Vmsd { get; }

    TState Save();

    void Load(TState state);

    IVmStateDescription IVmStateDevice.Description => Vmsd;

    void IVmStateDevice.SaveState(IStateWriter w) => Vmsd.Save(Save(), w);

    void IVmStateDevice.LoadState(IStateReader r, int versionId) => Load(Vmsd.Load(r, versionId));
}
