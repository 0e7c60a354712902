using System.Net.Sockets;
using System.Text.Json.Nodes;
using Emu.Machine.Board;
using Emu.Machine.State;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;
using Emu.Migration.VmState;
using Serilog;

namespace Emu.Migration.Precopy;

/// <summary>
/// The source's migration thread ("mig/src/main", QEMU migration_thread): connect, header and RAM setup, then
/// iterate until the pending bytes fit into bandwidth × downtime-limit, then stop the VM and complete. On failure
/// or cancel the source guest is restarted if this thread stopped it, so nothing is lost.
/// </summary>
public sealed partial class MigrationThread
{
    /// <summary>QEMU BUFFER_DELAY: the bandwidth-accounting and rate-limit window.</summary>
    public const int BufferDelayMs = 100;

    /// <summary>QEMU XFER_LIMIT_RATIO: windows per second.</summary>
    public const int XferLimitRatio = 1000 / BufferDelayMs;

    /// <summary>expected-downtime is recomputed only when a window moved more than this many bytes.</summary>
    public const long ExpectedDowntimeMinBytes = 10000;

    private readonly IMigratableMachine _machine;
    private readonly MigrationOptions _options;
    private readonly MigrationStats _stats;
    private readonly MigrationStateMachine _state;
    private readonly MigrationUri _uri;
    private readonly Action<string, JsonObject?> _emit;
    private readonly ILogger _log;
    private readonly AutoConverge _autoConverge;
    private readonly ManualResetEventSlim _wake = new();
    private readonly SemaphoreSlim _pauseSem = new(0);
    private readonly GlobalState _globalState = new();
    private readonly DowntimeStamp _downtimeStamp = new();
    private readonly object _abortLock = new();
    private readonly List<Action> _aborts = [];
    private Thread? _thread;
    private MigrationConnection? _connection;
    private MigrationStream? _stream;
    private Multifd.MultifdSender? _multifd;

    // QEMU MigrationState iteration and timing fields.
    private long _iterationStartMs;
    private long _iterationInitialBytes;
    private long _iterationInitialSentBytes;
    private long _iterationInitialPages;
    private double _thresholdBytes;
    private long _downtimeStartMs;

    // Whether this thread stopped the source VM, and the run state to give back if the migration does not complete.
    private bool _stoppedByUs;
    private RunState _oldRunState;

    internal MigrationThread(IMigratableMachine machine, MigrationOptions options, MigrationStats stats, MigrationStateMachine state,
        MigrationUri uri, Action<string, JsonObject?> emit, ILogger log)
    {
        _machine = machine;
        _options = options;
        _stats = stats;
        _state = state;
        _uri = uri;
        _emit = emit;
        _log = log;
        DirtyLimit = new MigrationDirtyLimit(options, machine.DirtyLimit);
        _autoConverge = new AutoConverge(options, () => machine.ThrottlePercent, p => machine.ThrottlePercent = p, DirtyLimit);
    }

    /// <summary>The failure text for query-migrate's error-desc, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>The current threshold (bytes that fit into the downtime limit), 0 before the first window.</summary>
    public double ThresholdBytes => Volatile.Read(ref _thresholdBytes);

    internal RamSaver? Ram { get; private set; }

    /// <summary>The dirty-limit capability's hold on the vCPUs, for query-migrate's dirty-limit figures.</summary>
    internal MigrationDirtyLimit DirtyLimit { get; }

    internal void Start()
    {
        _thread = new Thread(Run) { Name = "mig/src/main", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Waits for the thread to finish (tests, shutdown).</summary>
    public bool Join(TimeSpan timeout) => _thread?.Join(timeout) ?? true;

    /// <summary>
    /// QEMU migrate_fd_cancel's second half, after the status is cancelling: release a pre-switchover wait, wake
    /// the rate-limit sleep, and shut the channel so a blocked write fails now.
    /// </summary>
    internal void Abort()
    {
        _pauseSem.Release();
        _resumeSem.Release();
        _rp?.Stop();
        _preempt?.Dispose();
        _wake.Set();
        Action[] aborts;
        lock (_abortLock)
        {
            aborts = [.. _aborts];
        }

        foreach (Action a in aborts)
        {
            a();
        }

        _connection?.Close();
        _stream?.Close();
    }

    /// <summary>migrate-continue: leave pre-switchover.</summary>
    internal void Continue() => _pauseSem.Release();

    private void RegisterAbort(Action abort)
    {
        lock (_abortLock)
        {
            _aborts.Add(abort);
        }

        if (_state.Current == MigrationStatus.Cancelling)
        {
            abort();
        }
    }

    /// <summary>Every pass of this migration, for its report (x-emu-migration-report).</summary>
    public Report.MigrationPassLog Passes { get; } = new();

    private void OnPass(long pass)
    {
        // Current, not as of the last 100 ms window: a whole pass can be shorter than one (125 MiB in ~85 ms).
        if (_stream != null)
        {
            _stats.TransferredBytes = _stream.Position;
        }

        Passes.Add(Report.MigrationPassLog.Take(pass, _stats, Ram!.LastSyncDirtiedPages, _machine.ThrottlePercent, MonotonicClock.NowMs));
        _emit("MIGRATION_PASS", new JsonObject { ["pass"] = pass });
    }

    private void Run()
    {
        try
        {
            long setupStartMs = MonotonicClock.NowMs;

            _connection = MigrationConnection.Connect(_uri, RegisterAbort);
            _stream = MigrationStream.ForWriting(_connection.Stream);
            if (_state.Current == MigrationStatus.Cancelling)
            {
                return;
            }

            ApplyRateLimit();
            SaveVmWriter.WriteHeader(_stream);
            Ram = new RamSaver(_machine.RamBlocks, _stats, _autoConverge, OnPass);
            if (_options.Has(MigrationCapability.Multifd))
            {
                _multifd = Multifd.MultifdSender.Connect(_uri, _options.Parameters, _machine.RamBlocks, _stats, RegisterAbort, _log);
                Ram.Multifd = _multifd;
            }

            if (_options.Capabilities.WantsReturnPath)
            {
                OpenReturnPath(_stream);
            }

            SaveVmWriter.WriteSectionHeader(_stream, SectionType.SectionStart, RamSectionId, RamSaver.SectionName, 0, RamSaver.SectionVersion);
            Ram.Setup(_stream);
            if (_options.Has(MigrationCapability.Xbzrle))
            {
                Ram.EnableXbzrle(_options);
            }

            SaveVmWriter.WriteFooter(_stream, RamSectionId);
            _stream.Flush();
            _stats.TransferredBytes = _stream.Position;
            _stats.SetupTimeMs = MonotonicClock.NowMs - setupStartMs;
            if (!_state.TrySet(MigrationStatus.Setup, MigrationStatus.Active))
            {
                return;
            }

            // Off the migration thread, and after setup: on two cores the warm-up's JIT took the core setup ran on
            // (saves only read, see WarmSource). The switchover is at least one pass away.
            Task.Run(() => SwitchoverWarmup.WarmSource(DeviceSections()))
                .ContinueWith(t => _log.Warning(t.Exception, "migration: switchover warm-up failed"), TaskContinuationOptions.OnlyOnFaulted);
            _log.Information("migration: setup done in {SetupMs} ms, {TotalBytes} bytes of RAM in {Blocks} blocks to {Uri}",
                _stats.SetupTimeMs, Ram.TotalBytes, _machine.RamBlocks.Count, _uri.ToString());
            ResetIteration(MonotonicClock.NowMs);
            IterateUntilSwitchover();
        }
        catch (Exception e) when (e is MigrationStreamException or IOException or SocketException or ObjectDisposedException)
        {
            Error ??= e.Message;
        }
        catch (Exception e)
        {
            // The thread boundary: anything else is a bug, but it must cost the migration, not the source guest.
            _log.Error(e, "migration: internal error");
            Error ??= $"migration: internal error: {e.Message}";
        }
        finally
        {
            Finish();
        }
    }

    /// <summary>The loop of QEMU migration_thread: iterate, account, rate-limit, until the switchover or an end.</summary>
    private void IterateUntilSwitchover()
    {
        MigrationStream s = _stream!;
        RamSaver ram = Ram!;
        while (_state.Current == MigrationStatus.Active)
        {
            CheckReturnPath();
            if (_startPostcopy)
            {
                // QEMU: RAM is all postcopiable, so the switch happens at the first iteration after the request.
                PostcopyStart();
                return;
            }

            if (!s.RateLimitExceeded)
            {
                // QEMU migration_iteration_run.
                long pending = ram.PendingEstimate();
                double threshold = ThresholdBytes;
                if (pending < threshold)
                {
                    pending = ram.PendingExact();
                }

                if (pending == 0 || pending < threshold)
                {
                    Completion();
                    return;
                }

                SaveVmWriter.WriteSectionShortHeader(s, SectionType.SectionPart, RamSectionId);
                ram.Iterate(s);
                SaveVmWriter.WriteFooter(s, RamSectionId);
                s.Flush();
                _stats.TransferredBytes = s.Position;
            }

            RateLimit();
        }
    }

    /// <summary>QEMU migration_rate_limit: account the window, and if its budget is spent sleep to its end.</summary>
    private void RateLimit()
    {
        long now = MonotonicClock.NowMs;
        UpdateCounters(now);
        if (_stream!.RateLimitExceeded)
        {
            long ms = _iterationStartMs + BufferDelayMs - now;
            if (ms > 0)
            {
                // A kick (cancel, a page request, migrate-start-postcopy) ends the sleep early.
                _wake.Reset();
                _wake.Wait((int)ms);
            }

            UpdateCounters(MonotonicClock.NowMs);
        }
    }

    /// <summary>
    /// QEMU migration_update_counters: once per window, measure the bandwidth (bytes/ms), derive the switchover
    /// threshold, mbps, pages per second and expected downtime, and open a new rate-limit window (taking a new
    /// max-bandwidth into account).
    /// </summary>
    private void UpdateCounters(long nowMs)
    {
        if (nowMs < _iterationStartMs + BufferDelayMs)
        {
            return;
        }

        MigrationParameters p = _options.Parameters;
        long current = WrittenBytes;
        long transferred = current - _iterationInitialBytes;

        // The reported rate counts bytes that left the host: written ones may still wait in the socket for a slow
        // link. The switchover threshold keeps QEMU's measure, bytes written: the queue's draining between two
        // windows makes the sent count jump, and a jump there switches over with far more than the limit allows.
        long sent = Math.Max(0, SentBytes - _iterationInitialSentBytes);
        long timeSpent = nowMs - _iterationStartMs;
        double bandwidth = (double)transferred / timeSpent;
        double expectedBwPerMs = p.AvailSwitchoverBandwidthBytesPerSec != 0 ? p.AvailSwitchoverBandwidthBytesPerSec / 1000.0 : bandwidth;
        Volatile.Write(ref _thresholdBytes, expectedBwPerMs * p.DowntimeLimitMs);
        _stats.Mbps = sent * 8.0 / (timeSpent / 1000.0) / 1000.0 / 1000.0;
        _stats.PagesPerSecond = (long)((_stats.TotalPages - _iterationInitialPages) / (timeSpent / 1000.0));
        if (_stats.DirtyPagesRate != 0 && transferred > ExpectedDowntimeMinBytes && expectedBwPerMs > 0)
        {
            _stats.ExpectedDowntimeMs = (long)(_stats.DirtyBytesLastSync / expectedBwPerMs);
        }

        _stats.TransferredBytes = _stream!.Position;
        ApplyRateLimit();
        ResetIteration(nowMs);
    }

    private void ResetIteration(long nowMs)
    {
        _stream!.ResetRateLimit();
        _iterationStartMs = nowMs;
        _iterationInitialBytes = WrittenBytes;
        _iterationInitialSentBytes = SentBytes;
        _iterationInitialPages = _stats.TotalPages;
    }

    /// <summary>
    /// Bytes written on the main stream, plus the multifd packets as they would be uncompressed: the bandwidth behind
    /// the switchover threshold must be in the unit of the pending bytes it is compared with (raw pages).
    /// </summary>
    private long WrittenBytes => _stream!.Position + (_multifd?.PayloadBytes ?? 0);

    /// <summary>
    /// Bytes that left the host on the main stream, plus those written on the multifd channels (each writes a packet
    /// at a time and is flushed, so written is close to sent there).
    /// </summary>
    private long SentBytes => _stream!.BytesSent + _stats.MultifdBytes;

    /// <summary>QEMU migration_rate_set: max-bandwidth / XFER_LIMIT_RATIO per window (0 stays unlimited).</summary>
    private void ApplyRateLimit()
    {
        // After the switch max-postcopy-bandwidth applies (0: unlimited), as QEMU migration_rate_set in postcopy.
        ulong bw = EnteredPostcopy ? _options.Parameters.MaxPostcopyBandwidthBytesPerSec : _options.Parameters.MaxBandwidthBytesPerSec;
        _stream!.RateLimitMax = bw == 0 ? 0 : (long)Math.Clamp(bw / XferLimitRatio, 1, long.MaxValue);
    }
}
