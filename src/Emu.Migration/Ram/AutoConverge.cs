namespace Emu.Migration.Ram;

/// <summary>
/// Auto-converge as ram.c (R24): at the close of each ≥1 s sync period compare the bytes the guest dirtied with
/// the bytes sent; every second period past the threshold throttles the vCPUs harder
/// (migration_trigger_throttle, mig_throttle_guest_down). The throttle itself is the machine's
/// (cpu_throttle_set, clamped to 1..99). With the dirty-limit capability instead, the same trigger holds each vCPU
/// to its dirty-page quota (<see cref="MigrationDirtyLimit"/>).
/// </summary>
public sealed class AutoConverge(MigrationOptions options, Func<int> getThrottle, Action<int> setThrottle, MigrationDirtyLimit? dirtyLimit = null)
{
    /// <summary>QEMU CPU_THROTTLE_PCT_MIN / MAX.</summary>
    public const int ThrottleMinPercent = 1, ThrottleMaxPercent = 99;

    /// <summary>"Too fast" periods since the throttle last changed; never reset by a good period (as QEMU).</summary>
    public int DirtyRateHighCount { get; private set; }

    public int ThrottlePercent => getThrottle();

    /// <summary>The brake this migration applies is the vCPU dirty-page limit, not the CPU throttle.</summary>
    public bool BrakesByDirtyLimit => dirtyLimit != null && !options.Has(MigrationCapability.AutoConverge) && options.Has(MigrationCapability.DirtyLimit);

    /// <summary>QEMU migration_trigger_throttle. Returns true if the throttle or the dirty limit was applied.</summary>
    public bool OnPeriodEnd(ulong bytesXferPeriod, ulong bytesDirtyPeriod)
    {
        MigrationParameters p = options.Parameters;
        ulong bytesDirtyThreshold = bytesXferPeriod * p.ThrottleTriggerThresholdPercent / 100;
        if (bytesDirtyPeriod > bytesDirtyThreshold && ++DirtyRateHighCount >= 2)
        {
            DirtyRateHighCount = 0;
            if (options.Has(MigrationCapability.AutoConverge))
            {
                setThrottle(NextThrottle(getThrottle(), p, bytesDirtyPeriod, bytesDirtyThreshold));
                return true;
            }

            if (dirtyLimit != null && options.Has(MigrationCapability.DirtyLimit))
            {
                dirtyLimit.LimitGuest();
                return true;
            }
        }

        return false;
    }

    /// <summary>QEMU mig_throttle_guest_down then cpu_throttle_set's clamp: the next throttle percentage.</summary>
    public static int NextThrottle(int throttleNow, MigrationParameters p, ulong bytesDirtyPeriod, ulong bytesDirtyThreshold)
    {
        ulong next;
        if (throttleNow == 0)
        {
            next = p.CpuThrottleInitialPercent;
        }
        else
        {
            ulong inc = p.CpuThrottleIncrementPercent;
            if (p.CpuThrottleTailslow)
            {
                // The CPU share that would bring the dirty rate down to the threshold, truncated as QEMU's
                // double-to-uint64 conversion does.
                ulong cpuNow = (ulong)(100 - throttleNow);
                ulong cpuIdeal = (ulong)(cpuNow * (bytesDirtyThreshold * 1.0 / bytesDirtyPeriod));
                inc = Math.Min(cpuNow - cpuIdeal, inc);
            }

            next = Math.Min((ulong)throttleNow + inc, p.MaxCpuThrottlePercent);
        }

        return (int)Math.Clamp(next, ThrottleMinPercent, ThrottleMaxPercent);
    }

    /// <summary>QEMU cpu_throttle_stop (and the dirty limit's cancel): at the end of a migration, whatever its outcome.</summary>
    public void Stop()
    {
        setThrottle(0);
        dirtyLimit?.Stop();
        DirtyRateHighCount = 0;
    }
}
