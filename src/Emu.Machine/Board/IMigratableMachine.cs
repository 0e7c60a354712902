using Emu.Machine.DirtyRate;
using Emu.Machine.Memory;
using Emu.Machine.State;

namespace Emu.Machine.Board;

/// <summary>
/// What the migration subsystem needs of a machine: its RAM blocks, its device state sections, and control of
/// its run state and vCPU throttle. <see cref="PcMachine"/> implements it; tests can fake it.
/// </summary>
public interface IMigratableMachine
{
    IReadOnlyList<RamBlock> RamBlocks { get; }

    /// <summary>Every device section (the CPU first), in load order.</summary>
    IReadOnlyList<IVmStateDevice> Devices { get; }

    RunState RunState { get; }

    /// <summary>Raised after every run state change, with the new state.</summary>
    event Action<RunState>? RunStateChanged;

    /// <summary>Stops the vCPUs at a safe point (returns when they are stopped) and enters <paramref name="state"/>.</summary>
    void Stop(RunState state);

    /// <summary>Starts (or resumes) the vCPUs: run state running.</summary>
    void Start();

    /// <summary>Sets the run state without touching the vCPUs (postmigrate, inmigrate).</summary>
    void SetRunState(RunState state);

    /// <summary>Auto-converge: the vCPU sleeps pct/(1-pct) × 10 ms every 10 ms slice. 0 turns it off.</summary>
    int ThrottlePercent { get; set; }

    /// <summary>The vCPU dirty-page limits (set-vcpu-dirty-limit, the dirty-limit capability) and dirty-rate tracking.</summary>
    DirtyLimitState DirtyLimit { get; }

    /// <summary>
    /// The source has stopped for the switch to postcopy: a destination's background population of guest RAM (if any)
    /// stops, so that it does not slow the pause; pages it has not reached are backed when they are placed.
    /// </summary>
    void StopRamPrefault();

    /// <summary>Drops every cached translation of guest memory (TLBs, decoded blocks): after a load or a discard.</summary>
    void FlushCpuCaches();
}
