using Emu.Machine.Memory;
using Microsoft.Win32.SafeHandles;

namespace Emu.Migration.Ram;

/// <summary>
/// The pages the first lap may send as zero without reading them: those the host never populated
/// (<see cref="HostPageMap"/>), asked of the kernel one chunk of <see cref="HostPageMap.EntriesPerRead"/> pages at a
/// time, when the scan first reaches the chunk. Read all at once in setup it cost 10–18 ms at 256 MiB (four times
/// that at 1 GiB) of setup time, where QEMU takes 1–2 ms. A chunk read later is only fresher: it is read after
/// the setup sync, so a page populated after that read is in the dirty log and goes again in a later pass.
/// </summary>
/// <remarks>
/// Threads: the migration thread and, in postcopy, the return-path thread sending an urgent page; a reset of the
/// scan may end the map meanwhile. One lock guards the chunk reads, the scratch buffer and the handle.
/// </remarks>
internal sealed class FirstLapZeroMap : IDisposable
{
    private readonly SafeFileHandle _pagemap;
    private readonly IReadOnlyList<RamBlock> _blocks;
    private readonly ulong[][] _unpopulated;
    private readonly bool[][] _chunkRead;
    private readonly byte[] _scratch = new byte[HostPageMap.EntriesPerRead * sizeof(ulong)];
    private readonly object _lock = new();
    private volatile bool _disposed;

    private FirstLapZeroMap(SafeFileHandle pagemap, IReadOnlyList<RamBlock> blocks)
    {
        _pagemap = pagemap;
        _blocks = blocks;
        _unpopulated = new ulong[blocks.Count][];
        _chunkRead = new bool[blocks.Count][];
        for (int i = 0; i < blocks.Count; i++)
        {
            _unpopulated[i] = new ulong[(blocks[i].PageCount + 63) / 64];
            _chunkRead[i] = new bool[(blocks[i].PageCount + HostPageMap.EntriesPerRead - 1) / HostPageMap.EntriesPerRead];
        }
    }

    /// <summary>A map over <paramref name="blocks"/>, or null where the host has no pagemap (every page is then read).</summary>
    public static FirstLapZeroMap? Open(IReadOnlyList<RamBlock> blocks) =>
        HostPageMap.Open() is { } pagemap ? new FirstLapZeroMap(pagemap, blocks) : null;

    /// <summary>True if the host had never populated the page when its chunk was first asked about.</summary>
    public bool IsUnpopulated(int block, int page)
    {
        int chunk = page / HostPageMap.EntriesPerRead;

        // A chunk read once keeps its bits: only the first question about a chunk takes the lock (the page scan asks
        // once per page).
        if (Volatile.Read(ref _chunkRead[block][chunk]))
        {
            return !_disposed && HostPageMap.IsSet(_unpopulated[block], page);
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            if (!_chunkRead[block][chunk])
            {
                // A failed read leaves the chunk's bits clear: its pages are read and judged one by one.
                HostPageMap.ReadUnpopulated(_pagemap, _blocks[block], chunk * HostPageMap.EntriesPerRead, _scratch, _unpopulated[block]);

                // Published after the bits: a reader that sees the flag sees the chunk's bits.
                Volatile.Write(ref _chunkRead[block][chunk], true);
            }

            return HostPageMap.IsSet(_unpopulated[block], page);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _pagemap.Dispose();
        }
    }
}
