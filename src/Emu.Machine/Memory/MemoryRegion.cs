namespace Emu.Machine.Memory;

public enum MemoryRegionKind
{
    Ram,
    Rom,
    Mmio,
}

/// <summary>
/// One guest-physical range of an <see cref="AddressSpace"/>: RAM or ROM backed by a window of a
/// <see cref="RamBlock"/> (aliases are windows too), or an MMIO device. Higher priority wins where ranges overlap.
/// </summary>
public sealed class MemoryRegion
{
    internal MemoryRegion(string name, ulong gpa, ulong size, MemoryRegionKind kind, RamBlock? block, ulong blockOffset, IMmioDevice? device, int priority)
    {
        Name = name;
        Gpa = gpa;
        Size = size;
        Kind = kind;
        Block = block;
        BlockOffset = blockOffset;
        Device = device;
        Priority = priority;
    }

    public string Name { get; }

    public ulong Gpa { get; }

    public ulong Size { get; }

    public MemoryRegionKind Kind { get; }

    public RamBlock? Block { get; }

    /// <summary>Byte offset into <see cref="Block"/> that <see cref="Gpa"/> maps to.</summary>
    public ulong BlockOffset { get; }

    public IMmioDevice? Device { get; }

    public int Priority { get; }

    public bool Contains(ulong gpa) => gpa - Gpa < Size;
}
