using System.Buffers.Binary;

namespace Emu.Machine.Memory;

/// <summary>
/// Guest-physical memory: RAM, ROM and MMIO regions. This is the slow, general path; the CPU caches host
/// pointers for RAM pages in its TLB (via <see cref="TryGetRamPage"/>) and comes here only on a miss or MMIO.
/// Every write that reaches RAM marks the page dirty, after the data is stored.
/// </summary>
public sealed unsafe class AddressSpace
{
    private MemoryRegion[] _regions = [];

    public IReadOnlyList<MemoryRegion> Regions => _regions;

    /// <summary>Bumped on every map change, so TLBs that cached a resolution know to flush.</summary>
    public int Generation { get; private set; }

    public MemoryRegion AddRam(string name, ulong gpa, RamBlock block, ulong blockOffset, ulong size, bool readOnly = false, int priority = 0)
    {
        if (blockOffset + size > block.SizeBytes || ((gpa | blockOffset | size) & (RamBlock.PageSize - 1)) != 0)
        {
            throw new ArgumentException($"memory: region '{name}' at 0x{gpa:x}+0x{size:x} does not fit page-aligned in '{block.IdStr}' at 0x{blockOffset:x}");
        }

        return Add(new MemoryRegion(name, gpa, size, readOnly ? MemoryRegionKind.Rom : MemoryRegionKind.Ram, block, blockOffset, null, priority));
    }

    public MemoryRegion AddMmio(string name, ulong gpa, ulong size, IMmioDevice device, int priority = 1) =>
        Add(new MemoryRegion(name, gpa, size, MemoryRegionKind.Mmio, null, 0, device, priority));

    public void Remove(MemoryRegion region)
    {
        _regions = _regions.Where(r => r != region).ToArray();
        Generation++;
    }

    private MemoryRegion Add(MemoryRegion region)
    {
        // Sorted by priority, highest first, so the first hit wins.
        _regions = _regions.Append(region).OrderByDescending(r => r.Priority).ToArray();
        Generation++;
        return region;
    }

    public MemoryRegion? Resolve(ulong gpa)
    {
        MemoryRegion[] regions = _regions;
        for (int i = 0; i < regions.Length; i++)
        {
            if (regions[i].Contains(gpa))
            {
                return regions[i];
            }
        }

        return null;
    }

    /// <summary>
    /// For a TLB fill: the RAM page holding <paramref name="gpa"/>. False for MMIO, unmapped addresses, and
    /// writes to ROM. Waits for the page first if postcopy has not delivered it yet.
    /// </summary>
    public bool TryGetRamPage(ulong gpa, bool write, out RamBlock block, out int pageIndex, out byte* hostPage)
    {
        MemoryRegion? r = Resolve(gpa);
        if (r?.Block == null || (write && r.Kind == MemoryRegionKind.Rom))
        {
            block = null!;
            pageIndex = 0;
            hostPage = null;
            return false;
        }

        ulong offset = gpa - r.Gpa + r.BlockOffset;
        block = r.Block;
        pageIndex = (int)(offset >> RamBlock.PageShift);
        block.EnsurePresent(pageIndex);
        hostPage = block.HostPointer + ((ulong)pageIndex << RamBlock.PageShift);
        return true;
    }

    public byte ReadU8(ulong gpa) => (byte)Read(gpa, 1);

    public ushort ReadU16(ulong gpa) => (ushort)Read(gpa, 2);

    public uint ReadU32(ulong gpa) => (uint)Read(gpa, 4);

    public ulong ReadU64(ulong gpa) => Read(gpa, 8);

    public void WriteU8(ulong gpa, byte value) => Write(gpa, 1, value);

    public void WriteU16(ulong gpa, ushort value) => Write(gpa, 2, value);

    public void WriteU32(ulong gpa, uint value) => Write(gpa, 4, value);

    public void WriteU64(ulong gpa, ulong value) => Write(gpa, 8, value);

    /// <summary>A little-endian read of 1, 2, 4 or 8 bytes; unmapped bytes read as 0xFF, as on a PC bus.</summary>
    public ulong Read(ulong gpa, int size)
    {
        MemoryRegion? r = Resolve(gpa);
        if (r != null && gpa + (ulong)size - 1 - r.Gpa < r.Size)
        {
            if (r.Device != null)
            {
                return r.Device.MmioRead(gpa - r.Gpa, size);
            }

            Span<byte> b = stackalloc byte[8];
            ReadRam(r, gpa, b[..size]);
            return BinaryPrimitives.ReadUInt64LittleEndian(b);
        }

        // Crosses a region boundary (or unmapped): byte by byte.
        ulong v = 0;
        for (int i = 0; i < size; i++)
        {
            MemoryRegion? ri = Resolve(gpa + (ulong)i);
            ulong bv = ri == null ? 0xFF
                : ri.Device != null ? ri.Device.MmioRead(gpa + (ulong)i - ri.Gpa, 1) & 0xFF
                : ReadRamByte(ri, gpa + (ulong)i);
            v |= bv << (8 * i);
        }

        return v;
    }

    public void Write(ulong gpa, int size, ulong value)
    {
        MemoryRegion? r = Resolve(gpa);
        if (r != null && gpa + (ulong)size - 1 - r.Gpa < r.Size)
        {
            if (r.Device != null)
            {
                r.Device.MmioWrite(gpa - r.Gpa, size, value);
                return;
            }

            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, value);
            WriteRam(r, gpa, b[..size]);
            return;
        }

        if (r == null && size == 1)
        {
            return; // unmapped: the write goes nowhere
        }

        for (int i = 0; i < size; i++)
        {
            Write(gpa + (ulong)i, 1, (value >> (8 * i)) & 0xFF);
        }
    }

    /// <summary>Bulk read (a device's DMA, pmemsave). Unmapped bytes read as 0xFF.</summary>
    public void Read(ulong gpa, Span<byte> into)
    {
        int done = 0;
        while (done < into.Length)
        {
            ulong a = gpa + (ulong)done;
            int chunk = (int)Math.Min((ulong)(into.Length - done), RamBlock.PageSize - (a & (RamBlock.PageSize - 1)));
            MemoryRegion? r = Resolve(a);
            if (r?.Block != null && a + (ulong)chunk - 1 - r.Gpa < r.Size)
            {
                ReadRam(r, a, into.Slice(done, chunk));
            }
            else
            {
                for (int i = 0; i < chunk; i++)
                {
                    into[done + i] = (byte)Read(a + (ulong)i, 1);
                }
            }

            done += chunk;
        }
    }

    /// <summary>Bulk write (a device's DMA, a loader). Marks every page it touches dirty.</summary>
    public void Write(ulong gpa, ReadOnlySpan<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            ulong a = gpa + (ulong)done;
            int chunk = (int)Math.Min((ulong)(data.Length - done), RamBlock.PageSize - (a & (RamBlock.PageSize - 1)));
            MemoryRegion? r = Resolve(a);
            if (r?.Block != null && a + (ulong)chunk - 1 - r.Gpa < r.Size)
            {
                WriteRam(r, a, data.Slice(done, chunk));
            }
            else
            {
                for (int i = 0; i < chunk; i++)
                {
                    Write(a + (ulong)i, 1, data[done + i]);
                }
            }

            done += chunk;
        }
    }

    /// <summary>Loads an image into RAM or ROM regardless of write protection (firmware, kernels).</summary>
    public void LoadImage(ulong gpa, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length;)
        {
            ulong a = gpa + (ulong)i;
            MemoryRegion? r = Resolve(a);
            RamBlock block = r?.Block ?? throw new ArgumentException($"memory: image byte at 0x{a:x} falls outside RAM and ROM");
            int chunk = (int)Math.Min((ulong)(data.Length - i), r!.Gpa + r.Size - a);
            block.Write(a - r.Gpa + r.BlockOffset, data.Slice(i, chunk));
            i += chunk;
        }
    }

    private static void ReadRam(MemoryRegion r, ulong gpa, Span<byte> into)
    {
        ulong offset = gpa - r.Gpa + r.BlockOffset;
        RamBlock block = r.Block!;
        EnsurePresent(block, offset, into.Length);
        new ReadOnlySpan<byte>(block.HostPointer + offset, into.Length).CopyTo(into);
    }

    private static byte ReadRamByte(MemoryRegion r, ulong gpa)
    {
        Span<byte> b = stackalloc byte[1];
        ReadRam(r, gpa, b);
        return b[0];
    }

    private static void WriteRam(MemoryRegion r, ulong gpa, ReadOnlySpan<byte> data)
    {
        if (r.Kind == MemoryRegionKind.Rom)
        {
            return;
        }

        ulong offset = gpa - r.Gpa + r.BlockOffset;
        RamBlock block = r.Block!;
        EnsurePresent(block, offset, data.Length);
        block.Write(offset, data);
    }

    private static void EnsurePresent(RamBlock block, ulong offset, int length)
    {
        if (block.Received == null || length == 0)
        {
            return;
        }

        int first = (int)(offset >> RamBlock.PageShift);
        int last = (int)((offset + (ulong)length - 1) >> RamBlock.PageShift);
        for (int p = first; p <= last; p++)
        {
            block.EnsurePresent(p);
        }
    }
}
