namespace Emu.Migration.DirtyRate;

/// <summary>
/// What query-dirty-rate reports (QEMU DirtyRateInfo), before its calc-time is put in the unit asked for.
/// <see cref="DirtyRateMbPerSec"/> is null until a measurement ends; <see cref="VcpuDirtyRatesMbPerSec"/> is set
/// only for a finished dirty-ring measurement.
/// </summary>
public sealed record DirtyRateInfo(
    DirtyRateStatus Status,
    long StartTimeSeconds,
    long CalcTimeMs,
    long SamplePages,
    DirtyRateMeasureMode Mode,
    long? DirtyRateMbPerSec,
    IReadOnlyList<long>? VcpuDirtyRatesMbPerSec)
{
    /// <summary>QEMU convert_time_unit from milliseconds (truncating).</summary>
    public long CalcTimeIn(DirtyRateTimeUnit unit) => unit == DirtyRateTimeUnit.Second ? CalcTimeMs / 1000 : CalcTimeMs;
}
