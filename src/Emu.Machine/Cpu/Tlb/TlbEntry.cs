using System.Runtime.InteropServices;
using Emu.Machine.Memory;

namespace Emu.Machine.Cpu.Tlb;

/// <summary>
/// One software TLB entry (QEMU CPUTLBEntry): a linear page mapped straight to host memory. Read and write
/// entries live in separate arrays, so a write entry exists only where stores may go straight to RAM.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TlbEntry
{
    /// <summary>Linear page address | 1 when valid; 0 never matches (page-aligned tags are even).</summary>
    public uint Tag;

    /// <summary>Page index inside <see cref="Log"/>'s block, for the write barrier.</summary>
    public int PageIndex;

    /// <summary>Host address of the page's first byte.</summary>
    public byte* Host;

    /// <summary>The dirty log of the RAM block holding the page (write entries).</summary>
    public DirtyLog? Log;
}
