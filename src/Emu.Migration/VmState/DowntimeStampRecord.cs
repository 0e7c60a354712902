namespace Emu.Migration.VmState;

/// <summary>The "emu-downtime" section on the wire: the source's CLOCK_MONOTONIC at vCPU stop, in ns.</summary>
public sealed record DowntimeStampRecord
{
    public long SourceStopMonotonicNs { get; init; }
}
