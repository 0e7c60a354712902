using System.Diagnostics;
using Emu.Machine.Memory;

namespace Emu.Migration.Postcopy;

/// <summary>
/// QEMU PostcopyBlocktimeContext (postcopy-ram.c mark_postcopy_blocktime_begin / _end): per vCPU the time from its
/// fault on a missing page to that page's placement, and the total time during which every vCPU was waiting at
/// once. As in QEMU, a vCPU's blocktime ends when its page is placed, not when the host scheduler runs the vCPU
/// again; that later moment ends its <see cref="VcpuStallMs">stall</see>, which Emu reports beside it. Threads
/// that are not vCPUs (a device model, QMP's pmemsave) wait too but are not counted, as QEMU counts only vCPU
/// threads.
/// </summary>
public sealed class PostcopyBlocktime
{
    private readonly object _lock = new();
    private readonly long[] _vcpuTicks;
    private readonly long[] _vcpuBegin;
    private readonly (RamBlock? Block, int Page)[] _vcpuAwaits;
    private readonly long[] _stallTicks;
    private readonly long[] _stallBegin;
    private long _totalTicks;
    private long _lastBegin;
    private int _cpusDown;

    public PostcopyBlocktime(int vcpuCount)
    {
        _vcpuTicks = new long[vcpuCount];
        _vcpuBegin = new long[vcpuCount];
        _vcpuAwaits = new (RamBlock?, int)[vcpuCount];
        _stallTicks = new long[vcpuCount];
        _stallBegin = new long[vcpuCount];
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

    /// <summary>QEMU mark_postcopy_blocktime_begin: vCPU <paramref name="vcpu"/> faults on a missing page now.</summary>
    public void Begin(int vcpu, RamBlock block, int page, long nowTicks)
    {
        lock (_lock)
        {
            if (_stallBegin[vcpu] != 0)
            {
                return;
            }

            _stallBegin[vcpu] = nowTicks;
            _vcpuBegin[vcpu] = nowTicks;
            _vcpuAwaits[vcpu] = (block, page);
            if (++_cpusDown == _vcpuTicks.Length)
            {
                _lastBegin = nowTicks;
            }
        }
    }

    /// <summary>QEMU mark_postcopy_blocktime_end, from the placing thread: every vCPU waiting on this page has it now.</summary>
    public void PagePlaced(RamBlock block, int page, long nowTicks)
    {
        lock (_lock)
        {
            for (int vcpu = 0; vcpu < _vcpuAwaits.Length; vcpu++)
            {
                if (_vcpuBegin[vcpu] != 0 && _vcpuAwaits[vcpu].Block == block && _vcpuAwaits[vcpu].Page == page)
                {
                    EndBlocktime(vcpu, nowTicks);
                }
            }
        }
    }

    /// <summary>
    /// vCPU <paramref name="vcpu"/> runs again: its stall ends, and its blocktime too if no placement ended it
    /// (the page arrived between the vCPU's look at the bitmap and its wait, or the wait failed).
    /// </summary>
    public void Resumed(int vcpu, long nowTicks)
    {
        lock (_lock)
        {
            if (_stallBegin[vcpu] == 0)
            {
                return;
            }

            if (_vcpuBegin[vcpu] != 0)
            {
                EndBlocktime(vcpu, nowTicks);
            }

            _stallTicks[vcpu] += nowTicks - _stallBegin[vcpu];
            _stallBegin[vcpu] = 0;
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

    /// <summary>QEMU postcopy-vcpu-blocktime: ms each vCPU was blocked (fault to page placed).</summary>
    public uint[] VcpuMs => Snapshot(_vcpuTicks);

    /// <summary>Ms each vCPU was stopped by missing pages, fault to running again (blocktime plus the wake-ups).</summary>
    public uint[] VcpuStallMs => Snapshot(_stallTicks);

    private uint[] Snapshot(long[] ticks)
    {
        lock (_lock)
        {
            var ms = new uint[ticks.Length];
            for (int i = 0; i < ms.Length; i++)
            {
                ms[i] = ToMs(ticks[i]);
            }

            return ms;
        }
    }

    // Caller holds the lock. The interval in which every vCPU was blocked ends with the first page placed for one.
    private void EndBlocktime(int vcpu, long nowTicks)
    {
        if (_cpusDown == _vcpuTicks.Length)
        {
            _totalTicks += nowTicks - _lastBegin;
        }

        _vcpuTicks[vcpu] += nowTicks - _vcpuBegin[vcpu];
        _vcpuBegin[vcpu] = 0;
        _vcpuAwaits[vcpu] = default;
        _cpusDown--;
    }

    private static uint ToMs(long ticks) => (uint)Math.Min(uint.MaxValue, ticks * 1000 / Stopwatch.Frequency);
}
