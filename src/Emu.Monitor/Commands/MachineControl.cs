namespace Emu.Monitor.Commands;

/// <summary>
/// What the machine commands need beyond <see cref="Emu.Machine.Board.IMigratableMachine"/>, supplied by
/// whoever assembles the machine. Each delegate must return promptly: it runs on a QMP client thread while
/// other in-band commands wait.
/// </summary>
public sealed class MachineControl
{
    /// <summary>
    /// QEMU qmp_quit: asks the process to shut down (cause host-qmp-quit) and returns at once; the reply
    /// <c>{"return": {}}</c> is queued before the shutdown proceeds. Whoever shuts down emits SHUTDOWN
    /// (<see cref="Events.RunStateEvents.EmitShutdown"/>) and disposes the QMP server, which flushes it.
    /// </summary>
    public required Action Quit { get; init; }

    /// <summary>QEMU qmp_system_reset: resets the machine (and emits RESET through <see cref="Events.RunStateEvents.EmitReset"/>).</summary>
    public required Action SystemReset { get; init; }

    /// <summary>
    /// Incoming migration's autostart (QEMU's <c>autostart</c>): <c>stop</c> during inmigrate clears it and
    /// <c>cont</c> sets it, so the destination stays paused or starts when the migration completes.
    /// </summary>
    public required Action<bool> SetAutostart { get; init; }

    /// <summary>Writes a screendump; null when the machine has no display console.</summary>
    public Action<ScreendumpRequest>? Screendump { get; init; }

    /// <summary>The <c>-name</c> of the guest, reported by query-name; null when none was given.</summary>
    public string? Name { get; init; }

    public QmpVersion Version { get; init; } = QmpVersion.Emu;

    /// <summary>HMP <c>info registers</c>: the vCPU's registers as text; null when there is no CPU to show.</summary>
    public Func<string>? RegisterDump { get; init; }

    /// <summary>HMP <c>x</c>: a linear address to guest-physical under the vCPU's paging, or null when unmapped.</summary>
    public Func<uint, ulong?>? TranslateLinear { get; init; }

    /// <summary>The host thread id of the vCPU (query-cpus-fast's thread-id).</summary>
    public Func<long>? VcpuThreadId { get; init; }

    /// <summary>QEMU qmp_system_powerdown: the power button (emits POWERDOWN).</summary>
    public Action? Powerdown { get; init; }

    /// <summary>A key to the guest's keyboard: set 1 make code, E0 prefix, down or up (send-key); null: no keyboard.</summary>
    public Action<int, bool, bool>? KeyEvent { get; init; }
}
