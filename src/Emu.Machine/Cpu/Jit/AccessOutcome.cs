namespace Emu.Machine.Cpu.Jit;

/// <summary>What a memory access from compiled code did: the compiled block continues only on <see cref="Done"/>.</summary>
internal enum AccessOutcome
{
    /// <summary>The access happened; go on with the next instruction.</summary>
    Done,

    /// <summary>It faulted (the fault is pending, EIP is at the instruction): leave the block before it.</summary>
    Faulted,

    /// <summary>A case the fast form does not handle (segment limit, 16-bit stack): leave before the instruction so tier 1 runs it.</summary>
    NeedsInterpreter,

    /// <summary>The store hit code of the running block: leave after the instruction, before stale code runs.</summary>
    EndsBlock,
}
