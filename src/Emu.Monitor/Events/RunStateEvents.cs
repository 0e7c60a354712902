using System.Text.Json.Nodes;
using Emu.Machine.Board;

namespace Emu.Monitor.Events;

/// <summary>
/// The machine's life-cycle events on QMP. STOP and RESUME follow <see cref="IMigratableMachine.RunStateChanged"/>
/// as QEMU's vm_stop and vm_start send them: STOP when the guest leaves running (paused, finish-migrate,
/// shutdown, …), RESUME when it enters running. SHUTDOWN and RESET are emitted by whoever shuts down or
/// resets, through <see cref="EmitShutdown"/> and <see cref="EmitReset"/>.
/// </summary>
public sealed class RunStateEvents : IDisposable
{
    private readonly IMigratableMachine _machine;
    private readonly IQmpEvents _events;
    private readonly object _lock = new();
    private bool _wasRunning;

    /// <summary>Subscribes to the machine's run state now; dispose to unsubscribe.</summary>
    public RunStateEvents(IMigratableMachine machine, IQmpEvents events)
    {
        _machine = machine;
        _events = events;
        _wasRunning = machine.RunState == RunState.Running;
        machine.RunStateChanged += OnRunStateChanged;
    }

    /// <summary>QEMU's SHUTDOWN: <c>{"guest": bool, "reason": cause}</c>.</summary>
    public void EmitShutdown(ShutdownCause cause) => _events.Emit("SHUTDOWN", CauseData(cause));

    /// <summary>QEMU's RESET: <c>{"guest": bool, "reason": cause}</c> (host-qmp-system-reset for system_reset).</summary>
    public void EmitReset(ShutdownCause cause) => _events.Emit("RESET", CauseData(cause));

    public void Dispose() => _machine.RunStateChanged -= OnRunStateChanged;

    private static JsonObject CauseData(ShutdownCause cause) => new() { ["guest"] = cause.IsGuest(), ["reason"] = cause.ToQmp() };

    private void OnRunStateChanged(RunState state)
    {
        // Under a lock so two quick changes from different threads cannot emit their events out of order.
        lock (_lock)
        {
            bool running = state == RunState.Running;
            if (running != _wasRunning)
            {
                _events.Emit(running ? "RESUME" : "STOP");
                _wasRunning = running;
            }
        }
    }
}
