using System.Text.Json.Nodes;
using Emu.Machine.Board;
using Emu.Migration.Transport;
using Serilog;

namespace Emu.Migration.Precopy;

/// <summary>
/// The migration subsystem of one emu process (QEMU's MigrationState and MigrationIncomingState with the qmp_*
/// entry points): options, the outgoing migration thread, the incoming side and query-migrate. QMP commands and
/// the command line call in here; refusals are <see cref="MigrationException"/> with QEMU's texts.
/// </summary>
public sealed partial class MigrationController : IDisposable
{
    private readonly IMigratableMachine _machine;
    private readonly Action<string, JsonObject?> _emit;
    private readonly ILogger _log;
    private readonly MigrationStateMachine _outgoingState;
    private readonly MigrationStateMachine _incomingState;
    private readonly object _lock = new();
    private MigrationThread? _thread;
    private IncomingMigration? _incoming;
    private bool _incomingDeferred;
    private Task? _destinationWarmup;

    /// <param name="machine">The machine to migrate or to load into.</param>
    /// <param name="emitEvent">QMP event sink: ("MIGRATION", {status}), ("MIGRATION_PASS", {pass}).</param>
    /// <param name="log">Serilog logger; null uses the global one.</param>
    public MigrationController(IMigratableMachine machine, Action<string, JsonObject?> emitEvent, ILogger? log = null)
    {
        _machine = machine;
        _emit = emitEvent;
        _log = (log ?? Log.Logger).ForContext<MigrationController>();
        _outgoingState = new MigrationStateMachine(s => OnStatus("outgoing", s));
        _incomingState = new MigrationStateMachine(s => OnStatus("incoming", s));
    }

    /// <summary>
    /// A process that may migrate its guest out (not one waiting for an incoming migration) pays the JIT of the
    /// migration setup and the device saves now, in the background, rather than inside a migration's setup time
    /// and downtime (<see cref="SetupWarmup"/>, <see cref="VmState.SwitchoverWarmup"/>).
    /// </summary>
    public void WarmOutgoing() => SetupWarmup.Start(_log, () => VmState.SwitchoverWarmup.WarmSource(_machine.Devices));

    public MigrationOptions Options { get; } = new();

    public MigrationStats Stats { get; } = new();

    /// <summary>Status of the outgoing migration.</summary>
    public MigrationStatus Status => _outgoingState.Current;

    /// <summary>Status of the incoming migration.</summary>
    public MigrationStatus IncomingStatus => _incomingState.Current;

    /// <summary>Start the guest after a successful incoming migration (false with -S: stay paused).</summary>
    public bool Autostart { get; set; } = true;

    /// <summary>Called with the error line when an incoming migration fails; the coordinator exits with code 1.</summary>
    public Action<string>? IncomingFailed { get; set; }

    /// <summary>The outgoing thread of the current or last migration (tests wait on it).</summary>
    public MigrationThread? OutgoingThread => _thread;

    /// <summary>The incoming side, once started.</summary>
    public IncomingMigration? Incoming => _incoming;

    /// <summary>
    /// QEMU qmp_migrate: refuse while a migration runs or the guest awaits one, else reset the counters, enter
    /// setup and start the migration thread (which connects, so this returns at once).
    /// </summary>
    public void StartOutgoing(string uri, bool resume = false)
    {
        lock (_lock)
        {
            if (resume)
            {
                Resume(uri);
                return;
            }

            if (Status.IsRunning())
            {
                throw new MigrationException("There's a migration process in progress");
            }

            if (_machine.RunState == RunState.InMigrate)
            {
                throw new MigrationException("Guest is waiting for an incoming migration");
            }

            if (_machine.RunState == RunState.PostMigrate)
            {
                throw new MigrationException("Can't migrate the vm that was paused due to previous migration");
            }

            BeginSetup();
            if (!MigrationUri.TryParse(uri, out MigrationUri? parsed) || parsed!.Kind == MigrationUriKind.Defer)
            {
                _outgoingState.TrySet(MigrationStatus.Setup, MigrationStatus.Failed);
                throw new MigrationException("Parameter 'uri' expects a valid migration protocol");
            }

            if (Options.Has(MigrationCapability.Multifd) && parsed.Kind is not (MigrationUriKind.Tcp or MigrationUriKind.Unix))
            {
                _outgoingState.TrySet(MigrationStatus.Setup, MigrationStatus.Failed);
                throw new MigrationException($"multifd: its channels need a tcp: or unix: URI, not '{uri}'");
            }

            _thread = new MigrationThread(_machine, Options, Stats, _outgoingState, parsed, _emit, _log);
            _thread.Start();
        }
    }

    /// <summary>
    /// QEMU qmp_migrate with resume=true: only a paused postcopy resumes; the paused thread reconnects to
    /// <paramref name="uri"/> (postcopy-recover) and sends again what the destination did not receive.
    /// </summary>
    private void Resume(string uri)
    {
        if (Status != MigrationStatus.PostcopyPaused || _thread == null)
        {
            throw new MigrationException("Cannot resume if there is no paused migration");
        }

        if (!MigrationUri.TryParse(uri, out MigrationUri? parsed) || parsed!.Kind is not (MigrationUriKind.Tcp or MigrationUriKind.Unix))
        {
            throw new MigrationException("Parameter 'uri' expects a valid migration protocol");
        }

        if (_outgoingState.TrySet(MigrationStatus.PostcopyPaused, MigrationStatus.PostcopyRecover))
        {
            _thread.Resume(parsed);
        }
    }

    /// <summary>QEMU qmp_migrate_start_postcopy.</summary>
    public void StartPostcopy()
    {
        if (!Options.Has(MigrationCapability.PostcopyRam))
        {
            throw new MigrationException("Enable postcopy with migrate_set_capability before the start of migration");
        }

        if (Status == MigrationStatus.None)
        {
            throw new MigrationException("Postcopy must be started after migration has been started");
        }

        _thread?.StartPostcopy();
    }

    /// <summary>QEMU qmp_migrate_pause: break the link of a postcopy on purpose (either side).</summary>
    public void Pause()
    {
        if (Status is MigrationStatus.PostcopyActive or MigrationStatus.PostcopyRecover)
        {
            _thread!.PauseLink();
            return;
        }

        if (Status == MigrationStatus.None && _incoming != null)
        {
            _incoming.PauseLink();
            return;
        }

        throw new MigrationException("migrate-pause is currently only supported during postcopy-active or postcopy-recover state");
    }

    /// <summary>QEMU qmp_migrate_recover: the destination listens for the source's resume.</summary>
    public void Recover(string uri)
    {
        if (_incoming == null || IncomingStatus != MigrationStatus.PostcopyPaused)
        {
            throw new MigrationException("Migrate recover can only be run when postcopy is paused.");
        }

        if (!MigrationUri.TryParse(uri, out MigrationUri? parsed) || parsed!.Kind == MigrationUriKind.Defer)
        {
            throw new MigrationException($"unknown migration protocol: {uri}");
        }

        try
        {
            _incoming.Recover(parsed);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            throw new MigrationException($"Failed to listen on '{uri}': {e.Message}");
        }
    }

    /// <summary>Process exit: an incoming migration is abandoned, and a guest parked on a missing page released.</summary>
    public void Dispose() => _incoming?.Abort();

    /// <summary>QEMU migrate_init: a finished migration's status goes back to none, counters reset, → setup.</summary>
    private void BeginSetup()
    {
        MigrationStatus old = Status;
        if (old != MigrationStatus.None)
        {
            _outgoingState.TrySet(old, MigrationStatus.None);
        }

        Stats.Reset(VmState.MonotonicClock.NowMs, (long)Options.Parameters.DowntimeLimitMs);
        _outgoingState.TrySet(MigrationStatus.None, MigrationStatus.Setup);
    }

    /// <summary>
    /// QEMU qmp_migrate_cancel + migrate_fd_cancel: move any running state to cancelling (retrying the
    /// compare-and-swap), then shut the channel so the thread stops at once; it restarts the source guest and ends
    /// in cancelled. Once postcopy has switched, the guest's state lives on the destination and a cancel cannot
    /// give the source its guest back: it is refused, as QEMU's, and the migration goes on.
    /// </summary>
    public void Cancel()
    {
        if (Status == MigrationStatus.None && IncomingStatus == MigrationStatus.PostcopyPaused)
        {
            // A destination that lost its source for good: give up the recovery; the migration fails.
            _incoming!.GiveUp();
            return;
        }

        MigrationThread? thread = _thread;
        while (true)
        {
            MigrationStatus s = Status;
            if (s.IsPostcopy())
            {
                throw new MigrationException("Postcopy migration in progress, cannot cancel.");
            }

            if (!s.IsRunning() || s == MigrationStatus.Cancelling)
            {
                break;
            }

            if (_outgoingState.TrySet(s, MigrationStatus.Cancelling))
            {
                break;
            }
        }

        if (Status == MigrationStatus.Cancelling)
        {
            thread?.Abort();
        }
    }

    /// <summary>QEMU qmp_migrate_continue: leave pre-switchover; the state named must be the current one.</summary>
    public void Continue(string state)
    {
        if (!MigrationStatusNames.TryParse(state, out MigrationStatus expected))
        {
            throw new MigrationException($"Parameter 'state' does not accept value '{state}'");
        }

        if (Status != expected)
        {
            throw new MigrationException($"Migration not in expected state: {Status.ToQmp()}");
        }

        _thread?.Continue();
    }

    /// <summary>
    /// The command line's -incoming: <c>defer</c> waits for QMP migrate-incoming; tcp:/unix: listen now and
    /// file: restores a snapshot. The guest waits in run state inmigrate.
    /// </summary>
    public void StartIncoming(string uri)
    {
        lock (_lock)
        {
            MigrationUri parsed = MigrationUri.Parse(uri);
            if (parsed.Kind == MigrationUriKind.Defer)
            {
                if (_incomingDeferred)
                {
                    throw new MigrationException("Incoming migration already deferred");
                }

                _incomingDeferred = true;
                _machine.SetRunState(RunState.InMigrate);
                _destinationWarmup = IncomingMigration.StartDestinationWarmup(_machine, _log);
                return;
            }

            BeginIncoming(parsed);
        }
    }

    /// <summary>QEMU qmp_migrate_incoming: only after <c>-incoming defer</c>, only once.</summary>
    public void MigrateIncoming(string uri)
    {
        lock (_lock)
        {
            if (!_incomingDeferred)
            {
                throw new MigrationException("For use with '-incoming defer'");
            }

            if (_incoming != null)
            {
                throw new MigrationException("The incoming migration has already been started");
            }

            if (!MigrationUri.TryParse(uri, out MigrationUri? parsed) || parsed!.Kind == MigrationUriKind.Defer)
            {
                throw new MigrationException($"unknown migration protocol: {uri}");
            }

            BeginIncoming(parsed);
        }
    }

    private void BeginIncoming(MigrationUri uri)
    {
        _machine.SetRunState(RunState.InMigrate);
        _incomingState.TrySet(MigrationStatus.None, MigrationStatus.Setup);
        var incoming = new IncomingMigration(_machine, _incomingState, uri, _log, Autostart, OnIncomingFailed, Options)
        {
            DestinationWarmup = _destinationWarmup,
        };
        try
        {
            incoming.Start();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException)
        {
            _incomingState.TrySet(MigrationStatus.Setup, MigrationStatus.Failed);
            // QEMU's words: "Failed to bind socket: Address already in use"; our own IOExceptions already say what failed.
            throw new MigrationException(e is System.Net.Sockets.SocketException ? $"Failed to bind socket: {e.Message}" : e.Message);
        }

        _incoming = incoming;
    }

    private void OnIncomingFailed(string error) => IncomingFailed?.Invoke(error);

    private void OnStatus(string side, MigrationStatus s)
    {
        _log.Information("migration: {Side} status {Status}", side, s.ToQmp());
        _emit("MIGRATION", new JsonObject { ["status"] = s.ToQmp() });
    }
}
