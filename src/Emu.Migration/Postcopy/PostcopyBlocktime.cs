using System.Diagnostics;

namespace Emu.Migration.Postcopy;

/// <summary>
/// QEMU PostcopyBlocktimeContext (postcopy-ram.c mark_postcopy_blocktime_begin / _end): per vCPU the time spent
/// parked on a missing page, and the total time during which every vCPU was parked at once. Threads that are not
/// vCPUs (a device model, QMP's pmemsave) wait too but are not counted, as QEMU counts only vCPU threads.
/// </summary>
public sealed class PostcopyBlocktime
{
    private readonly object _lock = new();
    private readonly long[] _vcpuTicks;
    private readonly long[] _vcpuBegin;
    private long _totalTicks;
    private long _lastBegin;
    private int _cpusDown;

    public PostcopyBlocktime(int vcpuCount)
    {
        _vcpuTicks = new long[vcpuCount];
        _vcpuBegin = new long[vcpuCount];
    }

    /// <summary>The vCPU index of the calling thread ("vcpu/N"), or -1.</summary>
    public int CurrentVcpu()
    {
        string? name = Thread.CurrentThread.Name;
        if (name == null || !name.StartsWith("vcpu/", StringComparison.Ordinal) || !int.TryParse(name.AsSpan(5), out int i))
        {
            return -1;
        }

        return i < _vcpuTicks.Length ? i : -1;
    }

    /// <summary>QEMU mark_postcopy_blocktime_begin: vCPU <paramref name="vcpu"/> parks now.</summary>
    public void Begin(int vcpu, long nowTicks)
    {
        lock (_lock)
        {
            if (_vcpuBegin[vcpu] != 0)
            {
                return;
            }

            _vcpuBegin[vcpu] = nowTicks;
            if (++_cpusDown == _vcpuTicks.Length)
            {
                _lastBegin = nowTicks;
            }
        }
    }

    /// <summary>QEMU mark_postcopy_blocktime_end: vCPU <paramref name="vcpu"/> has its page.</summary>
    public void End(int vcpu, long nowTicks)
    {
        lock (_lock)
        {
            long begin = _vcpuBegin[vcpu];
            if (begin == 0)
            {
                return;
            }

            // The interval in which every vCPU was stalled ends with the first one that wakes.
            if (_cpusDown == _vcpuTicks.Length)
            {
                _totalTicks += nowTicks - _lastBegin;
            }

            _vcpuTicks[vcpu] += nowTicks - begin;
            _vcpuBegin[vcpu] = 0;
            _cpusDown--;
        }
    }

    /// <summary>QEMU postcopy-blocktime: ms during which all vCPUs were blocked.</summary>
    public uint TotalMs
    {
        get
        {
            lock (_lock)
            {
                return ToMs(_totalTicks);
            }
        }
    }

    /// <summary>QEMU postcopy-vcpu-blocktime: ms each vCPU was blocked.</summary>
    public uint[] VcpuMs
    {
        get
        {
            lock (_lock)
            {
                var ms = new uint[_vcpuTicks.Length];
                for (int i = 0; i < ms.Length; i++)
                {
                    ms[i] = ToMs(_vcpuTicks[i]);
                }

                return ms;
            }
        }
    }

    private static uint ToMs(long ticks) => (uint)Math.Min(uint.MaxValue, ticks * 1000 / Stopwatch.Frequency);
}
