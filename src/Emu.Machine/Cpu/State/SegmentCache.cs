using System.Runtime.InteropServices;

namespace Emu.Machine.Cpu.State;

/// <summary>
/// A segment register with its hidden descriptor cache. <see cref="Flags"/> is the descriptor's high dword
/// masked with 0x00F0FF00, as QEMU's SegmentCache.flags: type at bits 8-11, S 12, DPL 13-14, P 15, D/B 22, G 23.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SegmentCache
{
    public const uint TypeAccessed = 1u << 8;
    public const uint TypeWritable = 1u << 9;   // data: writable; code: readable
    public const uint TypeExpandDown = 1u << 10; // data: expand-down; code: conforming
    public const uint TypeCode = 1u << 11;
    public const uint FlagS = 1u << 12;
    public const uint FlagP = 1u << 15;
    public const uint FlagB = 1u << 22;
    public const uint FlagG = 1u << 23;
    public const uint FlagsMask = 0x00F0FF00;

    public uint Base;
    public uint Limit;
    public uint Flags;
    public ushort Selector;

    /// <summary>Precomputed from <see cref="Flags"/>: reads allowed (data or readable code, present, not null).</summary>
    public bool CanRead;

    /// <summary>Precomputed: writes allowed (writable data, present, not null).</summary>
    public bool CanWrite;

    /// <summary>Precomputed: expand-down data segment (limit check inverted).</summary>
    public bool ExpandDown;

    /// <summary>Precomputed for the fast path: the highest offset a 4-byte read may start at, -1 when reads must take the checked path.</summary>
    public long ReadMax4;

    /// <summary>As <see cref="ReadMax4"/> for writes.</summary>
    public long WriteMax4;

    public readonly int Dpl => (int)((Flags >> 13) & 3);

    public readonly bool Big => (Flags & FlagB) != 0;

    /// <summary>
    /// Recomputes the access shortcuts after Flags/Selector changed. Null selectors in protected mode are unusable.
    /// Real mode checks no segment type (<paramref name="protectedMode"/> false): a cache left holding a code
    /// segment by a return from protected mode is still writable there, as on a real CPU; only the limit stays.
    /// </summary>
    public void Refresh(bool usable, bool protectedMode)
    {
        bool present = (Flags & FlagP) != 0;
        bool code = (Flags & TypeCode) != 0;
        bool sys = (Flags & FlagS) == 0;
        CanRead = !protectedMode || (usable && present && !sys && (!code || (Flags & TypeWritable) != 0));
        CanWrite = !protectedMode || (usable && present && !sys && !code && (Flags & TypeWritable) != 0);
        ExpandDown = !code && !sys && (Flags & TypeExpandDown) != 0;
        ReadMax4 = CanRead && !ExpandDown ? (long)Limit - 3 : -1;
        WriteMax4 = CanWrite && !ExpandDown ? (long)Limit - 3 : -1;
    }
}
