using System.Runtime.CompilerServices;

namespace Emu.Machine.Memory;

/// <summary>
/// A block of guest RAM (QEMU RAMBlock): an idstr such as "pc.ram", page-aligned host memory and its
/// <see cref="DirtyLog"/>. Offsets are bytes from the start of the block; page indices count 4 KiB pages.
/// </summary>
public sealed unsafe class RamBlock : IDisposable
{
    public const int PageShift = 12;
    public const int PageSize = 1 << PageShift;

    private byte* _host;

    // Postcopy: set at LISTEN, cleared at the end (the bitmap first, then the handler; see WaitForPage).
    private ReceivedBitmap? _received;
    private IPageFaultHandler? _pageFaultHandler;

    public RamBlock(string idStr, ulong sizeBytes)
    {
        if (string.IsNullOrEmpty(idStr) || idStr.Length > 255)
        {
            throw new ArgumentException($"memory: RAMBlock idstr '{idStr}' must be 1 to 255 characters", nameof(idStr));
        }

        if (sizeBytes == 0 || (sizeBytes & (PageSize - 1)) != 0)
        {
            throw new ArgumentException($"memory: RAMBlock '{idStr}' size 0x{sizeBytes:x} is not a positive multiple of 4 KiB", nameof(sizeBytes));
        }

        IdStr = idStr;
        SizeBytes = sizeBytes;
        PageCount = checked((int)(sizeBytes >> PageShift));
        _host = HostMemory.Allocate(sizeBytes);
        DirtyLog = new DirtyLog(PageCount);
    }

    /// <summary>QEMU's idstr: the name the migration stream uses for this block.</summary>
    public string IdStr { get; }

    public ulong SizeBytes { get; }

    public int PageCount { get; }

    public DirtyLog DirtyLog { get; }

    /// <summary>
    /// Postcopy destination only: the pages that have arrived. Null when every page is present (the normal
    /// case); while set, an access to a page whose bit is clear must go through <see cref="PageFaultHandler"/>.
    /// </summary>
    public ReceivedBitmap? Received
    {
        get => _received;
        set => _received = value;
    }

    /// <summary>Called by an accessor that hit a page not yet received; returns once the page is placed.</summary>
    public IPageFaultHandler? PageFaultHandler
    {
        get => _pageFaultHandler;
        set => _pageFaultHandler = value;
    }

    /// <summary>The host address of the first byte: for the CPU's TLB and for bulk copies.</summary>
    public byte* HostPointer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _host;
    }

    public Span<byte> Page(int pageIndex)
    {
        if ((uint)pageIndex >= (uint)PageCount)
        {
            throw new ArgumentOutOfRangeException(nameof(pageIndex), $"memory: page {pageIndex} is past '{IdStr}' ({PageCount} pages)");
        }

        return new Span<byte>(_host + ((ulong)pageIndex << PageShift), PageSize);
    }

    public Span<byte> Slice(ulong offset, int length)
    {
        if (offset > SizeBytes || (ulong)length > SizeBytes - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"memory: range 0x{offset:x}+0x{length:x} is outside '{IdStr}' (0x{SizeBytes:x} bytes)");
        }

        return new Span<byte>(_host + offset, length);
    }

    /// <summary>
    /// Waits until the page is present (postcopy). Cheap when no postcopy is running: one null check.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnsurePresent(int pageIndex)
    {
        ReceivedBitmap? r = Received;
        if (r != null && !r.IsReceived(pageIndex))
        {
            WaitForPage(pageIndex);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForPage(int pageIndex)
    {
        IPageFaultHandler? handler = Volatile.Read(ref _pageFaultHandler);
        if (handler == null)
        {
            // Postcopy ended between the caller's look at the bitmap and here: its last page was placed, then the
            // bitmap went, then the handler. Only a page still missing in a bitmap still set is an error.
            ReceivedBitmap? r = Volatile.Read(ref _received);
            if (r == null || r.IsReceived(pageIndex))
            {
                return;
            }

            throw new InvalidOperationException($"memory: page {pageIndex} of '{IdStr}' is not received and no fault handler is set");
        }

        handler.WaitForPage(this, pageIndex);
    }

    /// <summary>
    /// Backs <paramref name="pageCount"/> pages from <paramref name="firstPage"/> with host memory without changing
    /// their contents (see <see cref="RamPrefault"/>); false where the host kernel cannot.
    /// </summary>
    public bool Populate(int firstPage, int pageCount)
    {
        if ((uint)firstPage > (uint)PageCount || (uint)pageCount > (uint)(PageCount - firstPage))
        {
            throw new ArgumentOutOfRangeException(nameof(pageCount), $"memory: pages {firstPage}+{pageCount} are outside '{IdStr}' ({PageCount} pages)");
        }

        return pageCount == 0 || HostMemory.Populate(_host + ((ulong)firstPage << PageShift), (ulong)pageCount << PageShift);
    }

    /// <summary>
    /// QEMU -mem-prealloc, before anything uses the block: every page backed now. Where the kernel cannot populate,
    /// a zero is written to each page (the block is still all zeros, so nothing changes).
    /// </summary>
    public void Preallocate()
    {
        if (!Populate(0, PageCount))
        {
            for (int page = 0; page < PageCount; page++)
            {
                _host[(ulong)page << PageShift] = 0;
            }
        }
    }

    /// <summary>Writes bytes from a device or loader: copies, then marks the pages dirty.</summary>
    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        data.CopyTo(Slice(offset, data.Length));
        DirtyLog.MarkRangeDirty(offset, (ulong)data.Length);
    }

    public void Dispose()
    {
        if (_host != null)
        {
            HostMemory.Free(_host, SizeBytes);
            _host = null;
        }
    }
}
