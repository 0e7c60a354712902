using System.Diagnostics;

namespace Emu.Migration.VmState;

/// <summary>
/// CLOCK_MONOTONIC in nanoseconds and milliseconds. On Linux .NET's <see cref="Stopwatch"/> reads
/// CLOCK_MONOTONIC with a 1 ns tick, so two processes on one host can compare these values.
/// </summary>
public static class MonotonicClock
{
    public static long NowNs => TicksToNs(Stopwatch.GetTimestamp());

    public static long NowMs => NowNs / 1_000_000;

    public static long TicksToNs(long ticks) =>
        Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)(ticks * (1e9 / Stopwatch.Frequency));
}
