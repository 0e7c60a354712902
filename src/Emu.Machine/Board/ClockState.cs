using Emu.Machine.State;

namespace Emu.Machine.Board;

/// <summary>
/// The virtual clock as a migration section (QEMU's "timer" section holds cpu_clock_offset the same way), so
/// guest time continues on the destination without a jump.
/// </summary>
public sealed class ClockState(VirtualClock clock) : IVmState<ClockState.Snapshot>
{
    public sealed record Snapshot(long VirtualNs = 0);

    public static readonly VmStateDescription<Snapshot> Description = new(
        "timer", version: 1, minimumVersion: 1, () => new Snapshot(),
        [VmField.I64<Snapshot>("virtual_ns", s => s.VirtualNs, (s, v) => s with { VirtualNs = v })],
        validate: s => s.VirtualNs < 0 ? $"virtual clock {s.VirtualNs} ns is negative" : null);

    public string SectionName => "timer";

    public VmStateDescription<Snapshot> Vmsd => Description;

    public Snapshot Save() => new(clock.NowNs);

    public void Load(Snapshot state) => clock.Set(state.VirtualNs);
}
