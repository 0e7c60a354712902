using System.Net.Sockets;
using Emu.Machine.Board;
using Emu.Machine.State;
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
public sealed class IncomingMigration
{
    private readonly IMigratableMachine _machine;
    private readonly MigrationStateMachine _state;
    private readonly MigrationUri _uri;
    private readonly ILogger _log;
    private readonly bool _autostart;
    private readonly Action<string>? _failed;
    private MigrationListener? _listener;
    private MigrationConnection? _connection;
    private Thread? _thread;

    internal IncomingMigration(IMigratableMachine machine, MigrationStateMachine state, MigrationUri uri, ILogger log, bool autostart, Action<string>? failed)
    {
        _machine = machine;
        _state = state;
        _uri = uri;
        _log = log;
        _autostart = autostart;
        _failed = failed;
    }

    /// <summary>The error line of a failed load, or null.</summary>
    public string? Error { get; private set; }

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

        _thread = new Thread(Run) { Name = "mig/dst/main", IsBackground = true };
        _thread.Start();
    }

    public bool Join(TimeSpan timeout) => _thread?.Join(timeout) ?? true;

    /// <summary>Stops waiting or loading (shutdown): the load fails.</summary>
    internal void Abort()
    {
        _listener?.Dispose();
        _connection?.Close();
    }

    private void Run()
    {
        try
        {
            SwitchoverWarmup.WarmDestination(_machine.Devices);
            _connection = _listener != null ? _listener.Accept() : MigrationConnection.OpenFile(_uri.Path);
            _listener?.Dispose();
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
            _connection?.Close();
        }
    }

    private void Load(MigrationStream s)
    {
        var globalState = new GlobalState();
        var downtime = new DowntimeStamp();
        var ram = new RamLoader(_machine.RamBlocks);
        var devices = new List<IVmStateDevice>(_machine.Devices) { globalState, downtime };
        var loader = new VmStateLoader(devices, [ram]);
        loader.Load(s);
        long loadedNs = MonotonicClock.NowNs;
        if (!ram.BlockListSeen)
        {
            throw new MigrationStreamException($"savevm: stream ended at offset 0x{s.Position:x} without a 'ram' section");
        }

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
            (long ramStartNs, long ramEndNs) = ram.FinalSection;
            long stopNs = downtime.SourceStopMonotonicNs;
            _log.Debug("migration: switchover on the destination: final ram section from {RamStartMs:F1} to {RamEndMs:F1} ms after the source stop, devices loaded at {LoadedMs:F1} ms, started at {StartedMs:F1} ms",
                (ramStartNs - stopNs) / 1e6, (ramEndNs - stopNs) / 1e6, (loadedNs - stopNs) / 1e6, (startedNs - stopNs) / 1e6);
        }

        _state.TrySet(MigrationStatus.Active, MigrationStatus.Completed);
        _log.Information("migration: incoming completed, {Pages} pages, {Devices} device sections, run state {RunState}",
            ram.PagesLoaded, loader.DeviceSectionsLoaded, _machine.RunState.ToQmp());
    }

    private void Fail(string message)
    {
        Error = message;
        MigrationStatus st = _state.Current;
        if (st is MigrationStatus.Setup or MigrationStatus.Active)
        {
            _state.TrySet(st, MigrationStatus.Failed);
        }

        // The person sees this once, as the process's one error line (IncomingFailed); the log keeps the detail.
        _log.Information("load of migration failed: {Error}", message);
        _failed?.Invoke(message);
    }
}
