using Emu.Machine.State;

namespace Emu.Migration.VmState;

/// <summary>
/// Pays .NET's first-call costs of the switchover before the guest stops: the JIT of every device's save (and, on
/// the destination, load) path and of the vmdesc JSON. Cold, they cost tens of milliseconds inside the downtime
/// on each side; QEMU, compiled ahead of time, has no such cost. Nothing produced here is sent.
/// </summary>
internal static class SwitchoverWarmup
{
    /// <summary>
    /// Source, at setup while the guest runs: saves every section into a scratch buffer and builds the vmdesc.
    /// Safe while the vCPU runs because a save only reads (each device's Save builds an immutable record, under
    /// the device's own lock where it has one); a torn value would only land in the discarded bytes.
    /// </summary>
    public static void WarmSource(IReadOnlyList<IVmStateDevice> sections)
    {
        var scratch = new ByteStateWriter();
        foreach (IVmStateDevice d in sections)
        {
            d.SaveState(scratch);
        }

        _ = VmDescription.Build(sections).ToJsonString();
    }

    /// <summary>
    /// Destination, before the channel is accepted (the guest has not run: it waits in inmigrate): each device
    /// loads its own saved state back, which leaves it as it was and runs the whole parse-validate-apply path once.
    /// </summary>
    public static void WarmDestination(IReadOnlyList<IVmStateDevice> devices)
    {
        foreach (IVmStateDevice d in devices)
        {
            var w = new ByteStateWriter();
            d.SaveState(w);
            d.LoadState(new ByteStateReader(w.ToArray()), d.Description.Version);
        }
    }
}
