using System.Text;
using Emu.Machine.Board;
using Emu.Machine.State;
using Emu.Migration.Stream;

namespace Emu.Migration.VmState;

/// <summary>
/// QEMU's global state section ("globalstate", version 1): the source's run state when it was stopped for the
/// switchover (global_state_store), so the destination starts the guest only if the source guest was running.
/// </summary>
public sealed class GlobalState : IVmState<GlobalStateRecord>
{
    public const int RunStateBufferLength = 100;

    private static readonly VmStateDescription<GlobalStateRecord> Description = new(
        "globalstate",
        version: 1,
        minimumVersion: 1,
        empty: () => new GlobalStateRecord(),
        fields:
        [
            VmField.U32<GlobalStateRecord>("size", s => s.Size, (s, v) => s with { Size = v }),
            VmField.Buffer<GlobalStateRecord>("runstate", RunStateBufferLength, s => s.RunState, (s, v) => s with { RunState = v }),
        ],
        validate: Validate);

    private RunState _stored = RunState.Running;

    public string SectionName => "globalstate";

    public VmStateDescription<GlobalStateRecord> Vmsd => Description;

    /// <summary>The run state received on a destination (post_load), or null before the section arrives.</summary>
    public RunState? Received { get; private set; }

    /// <summary>QEMU global_state_store: remember the run state as it is just before the VM stops.</summary>
    public void Store(RunState state) => _stored = state;

    public GlobalStateRecord Save()
    {
        byte[] buf = new byte[RunStateBufferLength];
        int n = Encoding.ASCII.GetBytes(_stored.ToQmp(), buf);
        return new GlobalStateRecord { Size = (uint)n + 1, RunState = buf };
    }

    public void Load(GlobalStateRecord state)
    {
        RunStateNames.TryParse(NameOf(state), out RunState rs);
        Received = rs;
    }

    private static string NameOf(GlobalStateRecord s)
    {
        int n = Array.IndexOf(s.RunState, (byte)0);
        return WireText.Printable(s.RunState.AsSpan(0, n < 0 ? s.RunState.Length : n));
    }

    private static string? Validate(GlobalStateRecord s)
    {
        if (s.Size == 0 || s.Size > RunStateBufferLength)
        {
            return $"run state size {s.Size}, expected 1 to {RunStateBufferLength}";
        }

        string name = NameOf(s);
        return RunStateNames.TryParse(name, out _) ? null : $"unknown run state '{name}'";
    }
}
