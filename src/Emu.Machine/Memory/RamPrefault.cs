using System.Diagnostics;
using Emu.Machine.Board;
using Emu.Machine.Diagnostics;
using Serilog;

namespace Emu.Machine.Memory;

/// <summary>
/// Backs guest RAM with host memory in the background, a huge page (2 MiB) at a time, at the lowest priority
/// (nice 19), without changing a byte (<see cref="RamBlock.Populate"/>). A destination does this while it waits for
/// the stream: every page will be written by the migration, and the first write to a huge page costs the kernel
/// (and, in a virtual machine, the hypervisor) a 2 MiB allocation. Measured on this project's machine class,
/// 1.7 s per GiB on a cold host; paid by the loading thread, each one stalled the postcopy stream for about 3 ms
/// while a vCPU waited on the next page. QEMU offers the same work up front with <c>-mem-prealloc</c>.
/// </summary>
public sealed class RamPrefault : IDisposable
{
    private const int PagesPerStep = (int)(HostMemory.HugePageBytes >> RamBlock.PageShift);

    private readonly IReadOnlyList<RamBlock> _blocks;
    private readonly Thread _thread;
    private volatile bool _stop;

    private RamPrefault(IReadOnlyList<RamBlock> blocks)
    {
        _blocks = blocks;
        _thread = new Thread(Run) { Name = "mem/prefault", IsBackground = true };
    }

    /// <summary>
    /// Starts populating <paramref name="blocks"/> on a thread of its own, unless the host cannot afford them
    /// (<see cref="HostCanAfford"/>); null then.
    /// </summary>
    public static RamPrefault? TryStart(IReadOnlyList<RamBlock> blocks)
    {
        ulong bytes = 0;
        foreach (RamBlock b in blocks)
        {
            bytes += b.SizeBytes;
        }

        if (!HostCanAfford(bytes))
        {
            Log.Debug("memory: guest RAM ({MiB} MiB) is more than half the host's available memory; not populated ahead of use", bytes >> 20);
            return null;
        }

        return Start(blocks);
    }

    /// <summary>Starts populating <paramref name="blocks"/> on a thread of its own.</summary>
    public static RamPrefault Start(IReadOnlyList<RamBlock> blocks)
    {
        var prefault = new RamPrefault(blocks);
        prefault._thread.Start();
        return prefault;
    }

    /// <summary>
    /// Whether the host has room for <paramref name="bytes"/> more resident memory with half its available memory
    /// (MemAvailable in /proc/meminfo) to spare: prefaulting must not push the host into reclaim for a guest whose
    /// pages may mostly stay zero. True where that cannot be read.
    /// </summary>
    public static bool HostCanAfford(ulong bytes) =>
        ProcFile.ReadKiB("/proc/meminfo", "MemAvailable") is not { } kib || bytes <= (kib << 10) / 2;

    /// <summary>True once every block is populated, or the work was stopped or refused by the host.</summary>
    public bool Finished => !_thread.IsAlive;

    /// <summary>
    /// Stops after the current step without waiting: the migration's switch has begun, and from there the loading
    /// thread backs each page it places; population beside it only competes for the cores and the address space.
    /// </summary>
    public void RequestStop() => _stop = true;

    /// <summary>Stops after the current step and waits for the thread: the memory must stay mapped until then.</summary>
    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive && Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        HostThread.SetNice(19);
        long start = Stopwatch.GetTimestamp();
        long pages = 0;
        foreach (RamBlock b in _blocks)
        {
            for (int page = 0; page < b.PageCount && !_stop; page += PagesPerStep)
            {
                int count = Math.Min(PagesPerStep, b.PageCount - page);
                if (!b.Populate(page, count))
                {
                    Log.Debug("memory: the host cannot populate guest RAM ahead of use (MADV_POPULATE_WRITE); pages are backed at first write");
                    return;
                }

                pages += count;
            }
        }

        Log.Debug("memory: {MiB} MiB of guest RAM populated in the background in {Ms:F0} ms{Stopped}",
            pages >> (20 - RamBlock.PageShift), Stopwatch.GetElapsedTime(start).TotalMilliseconds, _stop ? " (stopped)" : "");
    }
}
