using Emu.Machine.Cpu.Jit;
using Emu.Machine.Cpu.Translation;
using Iced.Intel;

namespace Emu.Machine.Cpu.Cache;

/// <summary>
/// A translated block (QEMU TranslationBlock): the Iced instructions of a straight run of guest code and their
/// micro-ops, keyed by the physical address of its first byte and the code size. It never spans more than two
/// guest pages; <see cref="Valid"/> goes false when a store hits one of them.
/// </summary>
internal sealed class DecodedBlock
{
    public DecodedBlock(ulong key, in DecodedRun run, long pageKey0, long pageKey1, ulong page1Gpa)
    {
        Key = key;
        Instructions = run.Instructions;
        Ops = run.Ops;
        WholeRunOps = run.WholeRunOps;
        Count = run.Ops.Length;
        PageKey0 = pageKey0;
        PageKey1 = pageKey1;
        Page1Gpa = page1Gpa;
        ByteLength = (uint)(Ops[Count - 1].Offset + Ops[Count - 1].Length);
    }

    /// <summary>Physical address of the first byte shifted left one, plus 1 for 32-bit code.</summary>
    public ulong Key { get; }

    public Instruction[] Instructions { get; }

    /// <summary>The micro-ops exactly as each instruction leaves the machine: for single steps and cut-short runs.</summary>
    public MicroOp[] Ops { get; }

    /// <summary>The micro-ops for a run of the whole block: flags no instruction of it can observe are not computed.</summary>
    public MicroOp[] WholeRunOps { get; }

    public int Count { get; }

    /// <summary>Bytes from the first instruction's first byte to the last instruction's last byte.</summary>
    public uint ByteLength { get; }

    /// <summary>
    /// How many leading instructions end at or before byte <paramref name="room"/> of the block (CS limit − EIP):
    /// the rest would run past the CS limit.
    /// </summary>
    public int CountWithin(uint room)
    {
        int n = 0;
        while (n < Count && (uint)(Ops[n].Offset + Ops[n].Length - 1) <= room)
        {
            n++;
        }

        return n;
    }

    /// <summary>(RAM block ordinal &lt;&lt; 32 | page index) of the first page, or -1 when the code is not in RAM.</summary>
    public long PageKey0 { get; }

    /// <summary>As <see cref="PageKey0"/> for a second page the last instruction runs into, or -1.</summary>
    public long PageKey1 { get; }

    /// <summary>Physical page of the second page (checked on lookup, as QEMU's tb page_addr[1]), or ulong.MaxValue.</summary>
    public ulong Page1Gpa { get; }

    /// <summary>Cleared (possibly from another thread) when the code under the block is written.</summary>
    public volatile bool Valid = true;

    /// <summary>Whole runs so far in tier 1, counting towards tier 2's threshold (vCPU thread only).</summary>
    public int WholeRuns;

    /// <summary>Tier 2's code for the block, or null while it runs in tier 1 (vCPU thread only).</summary>
    public CompiledBlock? Compiled;

    /// <summary>Code the compiler thread made for the block, until the vCPU thread installs it as <see cref="Compiled"/>.</summary>
    public volatile CompiledBlock? CompiledInBackground;

    /// <summary>Stopwatch ticks the compiler thread spent on <see cref="CompiledInBackground"/> (written before it).</summary>
    public long CompileTicks;

    private DecodedBlock? _link0;
    private DecodedBlock? _link1;
    private uint _link0Eip;
    private uint _link1Eip;
    private int _link0Epoch = -1;
    private int _link1Epoch = -1;

    /// <summary>The block that last followed this one at <paramref name="eip"/>, if still valid in this epoch.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public DecodedBlock? FollowLink(uint eip, int epoch)
    {
        DecodedBlock? l = _link0;
        if (l != null && _link0Eip == eip && _link0Epoch == epoch && l.Valid)
        {
            return l;
        }

        l = _link1;
        if (l != null && _link1Eip == eip && _link1Epoch == epoch && l.Valid)
        {
            return l;
        }

        return null;
    }

    /// <summary>Remembers a successor (two slots: a branch's taken and fall-through targets).</summary>
    public void SetLink(DecodedBlock next, uint eip, int epoch)
    {
        if (_link0 == null || _link0Epoch != epoch || !_link0.Valid)
        {
            _link0 = next;
            _link0Eip = eip;
            _link0Epoch = epoch;
        }
        else
        {
            _link1 = next;
            _link1Eip = eip;
            _link1Epoch = epoch;
        }
    }
}
