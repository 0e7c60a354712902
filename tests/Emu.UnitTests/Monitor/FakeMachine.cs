using Emu.Machine.Board;
using Emu.Machine.DirtyRate;
using Emu.Machine.Memory;
using Emu.Machine.State;

namespace Emu.UnitTests.Monitor;

/// <summary>A machine with no vCPU: run state changes happen at once and raise RunStateChanged like PcMachine's.</summary>
internal sealed class FakeMachine(RunState initial = RunState.Running) : IMigratableMachine
{
    private RunState _state = initial;
    private DirtyLimitState? _dirtyLimit;

    public IReadOnlyList<RamBlock> RamBlocks { get; init; } = [];

    /// <summary>One vCPU's dirty-page limit over <see cref="RamBlocks"/>; nothing charges it.</summary>
    public DirtyLimitState DirtyLimit => _dirtyLimit ??= DirtyLimitState.ForOneVcpu(RamBlocks, () => { });

    public IReadOnlyList<IVmStateDevice> Devices { get; } = [];

    public RunState RunState => _state;

    public event Action<RunState>? RunStateChanged;

    public int ThrottlePercent { get; set; }

    public int StopCalls { get; private set; }

    public int StartCalls { get; private set; }

    public void Stop(RunState state)
    {
        StopCalls++;
        SetRunState(state);
    }

    public void Start()
    {
        StartCalls++;
        SetRunState(RunState.Running);
    }

    public void SetRunState(RunState state)
    {
        _state = state;
        RunStateChanged?.Invoke(state);
    }

    public void FlushCpuCaches()
    {
    }

    public void StopRamPrefault()
    {
    }
}
