using Emu.Machine.State;

namespace Emu.Migration.VmState;

/// <summary>
/// Emu's own stream addition "emu-downtime" (protocol version 1): the source sends the CLOCK_MONOTONIC time at
/// which it stopped its vCPUs, so the destination can log the true guest pause (source stop → destination start)
/// when both processes share a host. A QEMU destination would refuse the unknown section; Emu sends it only to Emu.
/// </summary>
public sealed class DowntimeStamp : IVmState<DowntimeStampRecord>
{
    private static readonly VmStateDescription<DowntimeStampRecord> Description = new(
        "emu-downtime",
        version: 1,
        minimumVersion: 1,
        empty: () => new DowntimeStampRecord(),
        fields:
        [
            VmField.I64<DowntimeStampRecord>("src-stop-monotonic-ns", s => s.SourceStopMonotonicNs, (s, v) => s with { SourceStopMonotonicNs = v }),
        ],
        validate: s => s.SourceStopMonotonicNs > 0 ? null : $"source stop time {s.SourceStopMonotonicNs} ns is not positive");

    public string SectionName => "emu-downtime";

    public VmStateDescription<DowntimeStampRecord> Vmsd => Description;

    /// <summary>Source side: set when the vCPUs stop. Destination side: the received value, 0 before it arrives.</summary>
    public long SourceStopMonotonicNs { get; set; }

    public DowntimeStampRecord Save() => new() { SourceStopMonotonicNs = SourceStopMonotonicNs };

    public void Load(DowntimeStampRecord state) => SourceStopMonotonicNs = state.SourceStopMonotonicNs;
}
