using System.Net.Sockets;
using Emu.Machine.Board;
using Emu.Machine.State;
using Emu.Migration.Postcopy;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;
using Emu.Migration.VmState;
using Serilog;

namespace Emu.Migration.Precopy;

/// <summary>
/// The destination ("mig/dst/main", QEMU process_incoming_migration_co): accept the channel, load the stream,
/// then flush the CPU caches and start the guest if the source's was running. A refused stream ends in status
/// failed with one error line, and the guest never starts.
/// </summary>
public sealed partial class IncomingMigration
{
    private readonly IMigratableMachine _machine;
    private readonly MigrationStateMachine _state;
    private readonly MigrationUri _uri;
    private readonly ILogger _log;
    private readonly bool _autostart;
    private readonly Action<string>? _failed;
    private readonly MigrationOptions _options;
    private MigrationListener? _listener;
    private MigrationConnection? _connection;
    private MigrationListener? _multifdListener;
    private Multifd.MultifdReceiver? _multifd;
    private Thread? _thread;
    private string? _error;

    internal IncomingMigration(IMigratableMachine machine, MigrationStateMachine state, MigrationUri uri, ILogger log, bool autostart,
        Action<string>? failed, MigrationOptions? options = null)
    {
        _options = options ?? new MigrationOptions();
        _machine = machine;
        _state = state;
        _uri = uri;
        _log = log;
        _autostart = autostart;
        _failed = failed;
    }

    /// <summary>The error line of a failed load (the first failure), or null.</summary>
    public string? Error => Volatile.Read(ref _error);

    /// <summary>Source stop → destination start, in ms, once known (both on one host's CLOCK_MONOTONIC).</summary>
    public double? TruePauseMs { get; private set; }

    /// <summary>The bound port of a tcp: listener (port 0 picks one).</summary>
    public int ListeningPort => _listener?.Port ?? 0;

    /// <summary>Opens the listener now (so a source can connect as soon as this returns), then loads on a thread.</summary>
    internal void Start()
    {
        if (_uri.Kind is MigrationUriKind.Tcp or MigrationUriKind.Unix)
        {
            _listener = MigrationListener.Listen(_uri);
        }
        else
        {
            // A snapshot that cannot be opened is refused now, as the command's error, not later by the thread.
            _connection = MigrationConnection.OpenFile(_uri.Path);
        }

        _thread = new Thread(Run) { Name = "mig/dst/main", IsBackground = true };
        _thread.Start();
    }

    public bool Join(TimeSpan timeout) => _thread?.Join(timeout) ?? true;

    /// <summary>
    /// The destination's warm-up, when it was started before this incoming migration (<c>-incoming defer</c>
    /// starts it at once, so that it is not still running when the source's data arrives); null: started here.
    /// </summary>
    internal Task? DestinationWarmup { get; init; }

    /// <summary>
    /// Warms the destination's switch path in the background (<see cref="PostcopySwitchWarmup"/>) and each
    /// device's load path (<see cref="SwitchoverWarmup.WarmDestination"/>, which loads each device's own state back
    /// and must end before the load begins; the task ends with it). Measured through a deferred destination's
    /// <c>migrate-incoming</c>: run then, before the accept, it held a whole 256 MiB multifd migration in the
    /// sockets for ~240 ms.
    /// </summary>
    internal static Task StartDestinationWarmup(IMigratableMachine machine, ILogger log)
    {
        PostcopySwitchWarmup.Start(machine, log);
        return Task.Factory.StartNew(() => SwitchoverWarmup.WarmDestination(machine.Devices), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Stops waiting or loading (shutdown): the load fails; a postcopy guest parked on a page is released.</summary>
    internal void Abort()
    {
        _postcopy?.Fail("the incoming migration was shut down");
        lock (_recoverLock)
        {
            _shutDown = true;
            Monitor.PulseAll(_recoverLock);
        }

        _listener?.Dispose();
        _multifd?.Dispose();
        _recoverListener?.Dispose();
        _connection?.Close();
        _preemptConnection?.Close();
    }

    private void Run()
    {
        try
        {
            (DestinationWarmup ?? StartDestinationWarmup(_machine, _log)).GetAwaiter().GetResult();
            _connection ??= _listener!.Accept();
            if (_options.Has(MigrationCapability.PostcopyPreempt) && _listener != null)
            {
                // The listener stays open for the preempt channel, which the source connects at the switch.
                StartPreemptAcceptor(_listener);
            }
            else if (_options.Has(MigrationCapability.Multifd) && _listener != null)
            {
                // The multifd channels follow on the same listener; Load starts their receiver with the RAM loader.
                _multifdListener = _listener;
            }
            else
            {
                _listener?.Dispose();
            }

            _state.TrySet(MigrationStatus.Setup, MigrationStatus.Active);
            _log.Information("migration: incoming from {Uri}", _uri.ToString());
            Load(MigrationStream.ForReading(_connection.Stream));
        }
        catch (Exception e) when (e is MigrationStreamException or IOException or SocketException or ObjectDisposedException)
        {
            Fail(e.Message);
        }
        catch (Exception e)
        {
            _log.Error(e, "migration: internal error while loading");
            Fail($"migration: internal error: {e.Message}");
        }
        finally
        {
            _postcopy?.MainThreadLoadDone.Set();

            // In postcopy the listen thread owns the channel from RUN on.
            if (_postcopy == null || _postcopy.State < PostcopyState.Listening)
            {
                _connection?.Close();
            }
        }
    }

    private void Load(MigrationStream s)
    {
        _globalState = new GlobalState();
        _downtime = new DowntimeStamp();
        _ram = new RamLoader(_machine.RamBlocks);
        if (_multifdListener != null)
        {
            _multifd = new Multifd.MultifdReceiver(_ram, _machine.RamBlocks, _options.Parameters, Fail, _log);
            _ram.Multifd = _multifd;
            _multifd.Start(_multifdListener);
        }

        var devices = new List<IVmStateDevice>(_machine.Devices) { _globalState, _downtime };
        _postcopy = _connection!.IsBidirectional
            ? new PostcopyIncoming(_machine, _state, _options, _ram, () => _loader!.ForPackage(_postcopy), RequireDeviceState, StartGuest, _log)
            {
                Channel = _connection.Stream,
            }
            : null;
        _loader = new VmStateLoader(devices, [_ram], _postcopy);
        if (_postcopy != null)
        {
            _postcopy.StartListening = thread => StartListenThread(s, thread);
        }

        if (!_loader.Load(s))
        {
            // RUN ended the main load: the listen thread reads the rest while the guest runs.
            return;
        }

        if (!_ram.BlockListSeen)
        {
            throw new MigrationStreamException($"savevm: stream ended at offset 0x{s.Position:x} without a 'ram' section");
        }

        RequireDeviceState($"savevm: stream ended at offset 0x{s.Position:x}");

        if (_postcopy != null && _postcopy.State > PostcopyState.Advise)
        {
            throw new MigrationStreamException($"postcopy: stream ended at offset 0x{s.Position:x} in postcopy state {_postcopy.State} before RUN");
        }

        StartGuest();

        // The last MULTIFD_FLUSH placed every page the channels carried; what is left of them only closes, after the
        // guest runs: closing four channels and their threads took 4-5 ms of the pause.
        _multifd?.Dispose();
        _postcopy?.ReleaseUnusedThreads();
        _postcopy?.ReturnPath.TrySend(ReturnPathMessage.Shut(0));
        _state.TrySet(MigrationStatus.Active, MigrationStatus.Completed);
        _log.Information("migration: incoming completed, {Pages} pages, {Devices} device sections, run state {RunState}",
            _ram.PagesLoaded, _loader.DeviceSectionsLoaded, _machine.RunState.ToQmp());
    }

    /// <summary>
    /// Refuses a load whose device state ended (EOF, or postcopy's RUN) without a section this machine expects:
    /// the CPU, every device, and globalstate. <paramref name="where"/> starts the error line. The downtime stamp
    /// may be absent: it only feeds a log line.
    /// </summary>
    private void RequireDeviceState(string where)
    {
        List<IVmStateDevice> missing = _loader!.MissingDevices([.. _machine.Devices, _globalState!]);
        if (missing.Count == 0)
        {
            return;
        }

        string names = string.Join(", ", missing.Select(d => $"'{d.SectionName}' (instance {d.InstanceId})"));
        throw new MigrationStreamException(missing.Count == 1
            ? $"{where} without the section {names}"
            : $"{where} without the sections {names}");
    }

    /// <summary>
    /// QEMU's start policy after the device state is in (process_incoming_migration_bh, or postcopy RUN): flush
    /// the CPU caches, then run if the source ran (unless -S), else take the source's run state; log the true pause.
    /// </summary>
    private void StartGuest()
    {
        GlobalState globalState = _globalState!;
        DowntimeStamp downtime = _downtime!;
        _machine.FlushCpuCaches();

        // QEMU's start policy (global state): a running source → run here (unless -S), otherwise its state.
        RunState? received = globalState.Received;
        if (received is null or RunState.Running)
        {
            if (_autostart)
            {
                _machine.Start();
            }
            else
            {
                _machine.SetRunState(RunState.Paused);
            }
        }
        else
        {
            _machine.SetRunState(received.Value);
        }

        long startedNs = MonotonicClock.NowNs;
        if (downtime.SourceStopMonotonicNs != 0)
        {
            TruePauseMs = (startedNs - downtime.SourceStopMonotonicNs) / 1e6;
            _log.Information("migration: true pause = {TruePauseMs:F1} ms (source vCPU stop to destination start)", TruePauseMs);
            (long ramStartNs, long ramEndNs) = _ram!.FinalSection;
            long stopNs = downtime.SourceStopMonotonicNs;

            // In postcopy the guest starts before the last RAM section: there is no final section to place yet.
            if (ramStartNs != 0)
            {
                _log.Debug("migration: switchover on the destination: final ram section from {RamStartMs:F1} to {RamEndMs:F1} ms after the source stop, started at {StartedMs:F1} ms",
                    (ramStartNs - stopNs) / 1e6, (ramEndNs - stopNs) / 1e6, (startedNs - stopNs) / 1e6);
            }
        }
    }

    private void Fail(string message)
    {
        // The first failure is the cause (a postcopy load refused at RUN also ends its listen thread's read later).
        if (Interlocked.CompareExchange(ref _error, message, null) != null)
        {
            _log.Debug("migration: after the load failed: {Error}", message);
            return;
        }

        MigrationStatus st;
        while ((st = _state.Current).IsRunning() && st != MigrationStatus.Cancelling)
        {
            if (_state.TrySet(st, MigrationStatus.Failed))
            {
                break;
            }
        }

        // The person sees this once, as the process's one error line (IncomingFailed); the log keeps the detail.
        // It goes before the parked vCPU is released: woken, the vCPU ends the machine with its own, narrower
        // line ("page … can never arrive"), and the first exit reported wins.
        _log.Information("load of migration failed: {Error}", message);
        _failed?.Invoke(message);
        _multifd?.Dispose();
        _postcopy?.Fail(message);
        _postcopy?.ReturnPath.TrySend(ReturnPathMessage.Shut(1));
    }
}
