namespace Emu.Migration.Multifd;

/// <summary>
/// One batch of pages for a multifd packet (QEMU MultiFDPages_t): up to <see cref="MultifdPacketHeader.PageSlots"/>
/// page offsets, all in one RAM block. The migration thread fills one while a channel sends another; they swap
/// instead of copying.
/// </summary>
internal sealed class MultifdPages
{
    public ulong[] Offsets { get; } = new ulong[MultifdPacketHeader.PageSlots];

    /// <summary>Index of the block in the saver's block list; meaningless while <see cref="Count"/> is 0.</summary>
    public int Block { get; set; }

    public int Count { get; private set; }

    public bool IsFull => Count == Offsets.Length;

    public ReadOnlySpan<ulong> Used => Offsets.AsSpan(0, Count);

    public void Add(int block, ulong offset)
    {
        Block = block;
        Offsets[Count++] = offset;
    }

    public void Clear() => Count = 0;
}
