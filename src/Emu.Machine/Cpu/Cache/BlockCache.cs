using System.Runtime.CompilerServices;

namespace Emu.Machine.Cpu.Cache;

/// <summary>
/// Translated blocks by physical address and code size (QEMU tb_htable + the per-page TB lists). Lookups run on
/// the vCPU thread without a lock; invalidation may come from any thread that writes guest RAM, so it takes the
/// lock, marks blocks invalid and unlinks them (it never assumes no vCPU is inside one).
/// </summary>
internal sealed class BlockCache
{
    internal const int HashBits = 14;
    internal const int HashMask = (1 << HashBits) - 1;

    private readonly DecodedBlock?[] _hash = new DecodedBlock?[1 << HashBits];
    private readonly Dictionary<long, List<DecodedBlock>> _byPage = new();
    private readonly Lock _lock = new();

    /// <summary>Blocks translated since creation (a statistic; never reset).</summary>
    public long Translations { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public DecodedBlock? Lookup(ulong key)
    {
        DecodedBlock? b = Volatile.Read(ref _hash[Hash(key)]);
        return b != null && b.Key == key && b.Valid ? b : null;
    }

    public void Insert(DecodedBlock block)
    {
        lock (_lock)
        {
            AddToPage(block.PageKey0, block);
            if (block.PageKey1 >= 0 && block.PageKey1 != block.PageKey0)
            {
                AddToPage(block.PageKey1, block);
            }

            Translations++;

            // Publish after the block is complete and registered for invalidation.
            Volatile.Write(ref _hash[Hash(block.Key)], block);
        }
    }

    /// <summary>Drops every block with code on the page; returns true when there was any.</summary>
    public bool InvalidatePage(long pageKey)
    {
        lock (_lock)
        {
            if (!_byPage.Remove(pageKey, out List<DecodedBlock>? list))
            {
                return false;
            }

            foreach (DecodedBlock b in list)
            {
                b.Valid = false;
                ref DecodedBlock? slot = ref _hash[Hash(b.Key)];
                if (slot == b)
                {
                    Volatile.Write(ref slot, null);
                }
            }

            return true;
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            foreach (List<DecodedBlock> list in _byPage.Values)
            {
                foreach (DecodedBlock b in list)
                {
                    b.Valid = false;
                }
            }

            _byPage.Clear();
            Array.Clear(_hash);
        }
    }

    private void AddToPage(long pageKey, DecodedBlock block)
    {
        if (pageKey < 0)
        {
            return;
        }

        if (!_byPage.TryGetValue(pageKey, out List<DecodedBlock>? list))
        {
            list = new List<DecodedBlock>();
            _byPage[pageKey] = list;
        }

        list.Add(block);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ulong key) => (int)((key ^ (key >> HashBits) ^ (key >> (2 * HashBits))) & HashMask);
}
