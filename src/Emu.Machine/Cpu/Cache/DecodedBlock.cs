using Iced.Intel;

namespace Emu.Machine.Cpu.Cache;

/// <summary>
/// A translated block (QEMU TranslationBlock): the Iced instructions of a straight run of guest code and their
/// micro-ops, keyed by the physical address of its first byte and the code size. It never spans more than two
/// guest pages; <see cref="Valid"/> goes false when a store hits one of them.
/// </summary>
internal sealed class DecodedBlock
{
    public DecodedBlock(ulong key, Instruction[] instructions, MicroOp[] ops, int count, long pageKey0, long pageKey1, ulong page1Gpa)
    {
        Key = key;
        Instructions = instructions;
        Ops = ops;
        Count = count;
        PageKey0 = pageKey0;
        PageKey1 = pageKey1;
        Page1Gpa = page1Gpa;
    }

    /// <summary>Physical address of the first byte shifted left one, plus 1 for 32-bit code.</summary>
    public ulong Key { get; }

    public Instruction[] Instructions { get; }

    public MicroOp[] Ops { get; }

    public int Count { get; }

    /// <summary>(RAM block ordinal &lt;&lt; 32 | page index) of the first page, or -1 when the code is not in RAM.</summary>
    public long PageKey0 { get; }

    /// <summary>As <see cref="PageKey0"/> for a second page the last instruction runs into, or -1.</summary>
    public long PageKey1 { get; }

    /// <summary>Physical page of the second page (checked on lookup, as QEMU's tb page_addr[1]), or ulong.MaxValue.</summary>
    public ulong Page1Gpa { get; }

    /// <summary>Cleared (possibly from another thread) when the code under the block is written.</summary>
    public volatile bool Valid = true;
}
