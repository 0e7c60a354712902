using System.Net.Sockets;
using Emu.Machine.Board;
using Emu.Machine.Memory;
using Emu.Migration.Postcopy;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;
using Emu.Migration.VmState;

namespace Emu.Migration.Precopy;

/// <summary>
/// The postcopy part of <see cref="MigrationThread"/>: return path, the switch (QEMU postcopy_start), the
/// postcopy loop and completion, and the pause/resume of a recovery (postcopy_pause / postcopy_do_resume).
/// </summary>
public sealed partial class MigrationThread
{
    /// <summary>How long a recovery handshake step may take before the source pauses again.</summary>
    public static readonly TimeSpan ResumeHandshakeTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The PING the source sends just before it stops the guest for the switch (<see cref="DrainBeforeSwitch"/>).
    /// QEMU's postcopy_start pings 2, 3 and 4 after the stop (1 follows OPEN_RETURN_PATH); 5 is free, and a
    /// destination answers any PING with its PONG.
    /// </summary>
    public const uint SwitchDrainPing = 5;

    /// <summary>The PING inside the package, after the device state and before RUN (QEMU's 3): its PONG says the destination is about to run.</summary>
    public const uint BeforeRunPing = 3;

    /// <summary>How long the source waits for the destination to read what is in flight before it switches anyway.</summary>
    public static readonly TimeSpan SwitchDrainTimeout = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _resumeSem = new(0);
    private volatile bool _startPostcopy;
    private bool _enteredPostcopy;
    private SourceReturnPath? _rp;
    private PreemptChannel? _preempt;
    private MigrationUri? _resumeUri;

    /// <summary>True once the switch happened: the destination owns the guest from then on.</summary>
    public bool EnteredPostcopy => Volatile.Read(ref _enteredPostcopy);

    /// <summary>QEMU qmp_migrate_start_postcopy: switch at the next opportunity.</summary>
    internal void StartPostcopy()
    {
        _startPostcopy = true;
        _wake.Set();
    }

    /// <summary>QEMU qmp_migrate_pause on the source: shut the channel; the thread notices and pauses.</summary>
    internal void PauseLink()
    {
        _log.Information("migration: postcopy paused by the user");
        _connection?.Close();
        _preempt?.Dispose();
    }

    /// <summary>QEMU migrate with resume=true: the new URI for the paused thread (status already postcopy-recover).</summary>
    internal void Resume(MigrationUri uri)
    {
        Volatile.Write(ref _resumeUri, uri);
        _resumeSem.Release();
    }

    /// <summary>
    /// QEMU open_return_path_on_source + OPEN_RETURN_PATH, PING(1), and POSTCOPY_ADVISE with postcopy-ram:
    /// the return path runs over the same socket, the other direction.
    /// </summary>
    private void OpenReturnPath(MigrationStream s)
    {
        if (!_connection!.IsBidirectional)
        {
            throw new MigrationStreamException($"migration: Unable to open return-path for postcopy: '{_uri}' has no return direction");
        }

        StartReturnPathReader(_connection);
        MigCommandWriter.SendOpenReturnPath(s);
        MigCommandWriter.SendPing(s, 1);
        if (_options.Has(MigrationCapability.PostcopyRam))
        {
            MigCommandWriter.SendPostcopyAdvise(s, RamBlock.PageSize, RamBlock.PageSize);
        }
    }

    private void StartReturnPathReader(MigrationConnection connection)
    {
        _rp = new SourceReturnPath(MigrationStream.ForReading(connection.Stream), Ram!,
            () => _state.Current == MigrationStatus.PostcopyRecover, () => _wake.Set(), _log);
        _rp.Start();
    }

    /// <summary>The return path went bad: a failure in precopy, a pause in postcopy.</summary>
    private void CheckReturnPath()
    {
        string? error = _rp?.Error;
        if (error != null)
        {
            throw new MigrationStreamException($"migration: return path: {error}");
        }
    }

    /// <summary>
    /// QEMU await_return_path_close_on_source: the destination says SHUT(0) when it has everything; anything
    /// else fails the migration. True when there is no return path.
    /// </summary>
    private bool AwaitReturnPathClose()
    {
        if (_rp == null)
        {
            return true;
        }

        _rp.WaitForEnd(Timeout.InfiniteTimeSpan);
        if (_rp.ShutStatus == 0)
        {
            return true;
        }

        Error ??= _rp.Error != null ? $"migration: return path: {_rp.Error}" : "migration: the destination closed the return path without SHUT";
        return false;
    }

    /// <summary>
    /// With multifd, before the discard list: a RAM section part with a last multifd sync, so the destination has
    /// placed every page the channels carried before it learns which pages to discard; from here on pages go on the
    /// main channel (QEMU sends no multifd page in postcopy).
    /// </summary>
    private static void FlushMultifdBeforePostcopy(MigrationStream s, RamSaver ram)
    {
        if (ram.Multifd == null)
        {
            return;
        }

        SaveVmWriter.WriteSectionShortHeader(s, SectionType.SectionPart, RamSectionId);
        ram.SendMultifdFlush(s);
        s.WriteU64((ulong)RamSaveFlags.Eos);
        SaveVmWriter.WriteFooter(s, RamSectionId);
        ram.Multifd = null;
    }

    /// <summary>
    /// QEMU postcopy_start: postcopy-active (with pause-before-switchover only after the pause), stop the VM, the
    /// discard list (a last sync: every page dirtied since it was sent, and every page never sent), PING(2), then
    /// one PACKAGED blob of LISTEN, the device state, PING(3) and RUN, then PING(4). From the discard list on, a
    /// failure never restarts the source guest; a cancel in pre-switchover does (nothing was sent yet).
    /// </summary>
    private void PostcopyStart()
    {
        MigrationStream s = _stream!;
        RamSaver ram = Ram!;
        DrainBeforeSwitch(s);
        _downtimeStartMs = MonotonicClock.NowMs;
        _downtimeStamp.SourceStopMonotonicNs = MonotonicClock.NowNs;
        MigrationStatus current = MigrationStatus.Active;
        if (!_options.Has(MigrationCapability.PauseBeforeSwitchover))
        {
            if (!_state.TrySet(MigrationStatus.Active, MigrationStatus.PostcopyActive))
            {
                return;
            }

            current = MigrationStatus.PostcopyActive;
        }

        _oldRunState = _machine.RunState;
        _globalState.Store(_oldRunState);
        _machine.Stop(RunState.FinishMigrate);
        _stoppedByUs = true;

        // QEMU migration_maybe_pause(ms, &cur_state, POSTCOPY_ACTIVE): active → pre-switchover → postcopy-active.
        if (!MaybePause(ref current, MigrationStatus.PostcopyActive))
        {
            return;
        }

        Volatile.Write(ref _enteredPostcopy, true);
        ram.Phase = RamPhase.Downtime;
        ApplyRateLimit();

        FlushMultifdBeforePostcopy(s, ram);
        long discarded = ram.SendDiscardBitmap(s);
        MigCommandWriter.SendPing(s, 2);
        var buffer = new MemoryStream();
        long packageBytes;
        using (MigrationStream package = MigrationStream.ForWriting(buffer, MigrationStream.RecordBufferSize))
        {
            MigCommandWriter.SendPostcopyListen(package);
            WriteDeviceSections(package);
            MigCommandWriter.SendPing(package, BeforeRunPing);
            MigCommandWriter.SendPostcopyRun(package);
            package.Flush();
            packageBytes = buffer.Length;
            MigCommandWriter.SendPackaged(s, buffer.GetBuffer().AsSpan(0, (int)packageBytes));
        }

        MigCommandWriter.SendPing(s, 4);
        s.Flush();
        _stats.TransferredBytes = s.Position;
        _stats.DowntimeMs = MonotonicClock.NowMs - _downtimeStartMs;
        ram.Phase = RamPhase.Postcopy;
        _log.Information("migration: postcopy started: {Discarded} pages discarded, device state {PackageBytes} bytes, downtime {DowntimeMs} ms",
            discarded, packageBytes, _stats.DowntimeMs);
        if (_options.Has(MigrationCapability.PostcopyPreempt))
        {
            ConnectPreempt(_uri);
        }

        AwaitDestinationRun();
        PostcopyLoop();
    }

    /// <summary>
    /// While the guest still runs: PING(<see cref="SwitchDrainPing"/>) and the wait for its PONG, which the destination
    /// sends once it has read everything before it. The discard list and the package then travel an empty channel;
    /// otherwise they queued, inside the guest's pause, behind the megabytes of precopy pages that fill both sockets'
    /// buffers while the destination's loader catches up (6–23 ms of a 35–45 ms pause, in RESULTS.md). Not QEMU's
    /// (its destination keeps up, so little queues); the bytes are a plain PING it answers too. The wait is bounded:
    /// a slow link or a destination that does not answer costs the switch at most <see cref="SwitchDrainTimeout"/>.
    /// </summary>
    private void DrainBeforeSwitch(MigrationStream s)
    {
        MigCommandWriter.SendPing(s, SwitchDrainPing);
        s.Flush();
        long startNs = MonotonicClock.NowNs;
        bool drained = _rp!.WaitForPong(SwitchDrainPing, SwitchDrainTimeout);
        _log.Debug("migration: postcopy switch: the destination {Outcome} in {Ms:F1} ms", drained ? "had read everything sent" : "did not answer the drain PING",
            (MonotonicClock.NowNs - startNs) / 1e6);
    }

    /// <summary>
    /// After the package, background pages wait for PONG(3), which the destination sends from inside the package once
    /// the device state is loaded, just before RUN; a page request (a device load that touched a missing page) or
    /// <see cref="SwitchDrainTimeout"/> ends the wait too. Sent at once, as QEMU does, the pages took the destination's
    /// listen thread and this thread a core each on a two-core host while the package loaded (10–20 ms of the pause),
    /// and they filled the sockets, so the guest's first page requests after RUN queued behind megabytes of them.
    /// </summary>
    private void AwaitDestinationRun()
    {
        SourceReturnPath rp = _rp!;
        RamSaver ram = Ram!;
        long deadlineMs = MonotonicClock.NowMs + (long)SwitchDrainTimeout.TotalMilliseconds;
        while (!rp.HasPong(BeforeRunPing) && ram.QueuedRequests == 0 && rp.Error == null && _state.Current == MigrationStatus.PostcopyActive)
        {
            long leftMs = deadlineMs - MonotonicClock.NowMs;
            if (leftMs <= 0)
            {
                _log.Debug("migration: postcopy switch: no PONG({Ping}) from the destination; background pages start anyway", BeforeRunPing);
                return;
            }

            // Reset before the re-check: a kick (PONG, request, cancel) between the check and the wait is not lost.
            _wake.Reset();
            if (rp.HasPong(BeforeRunPing) || ram.QueuedRequests > 0 || rp.Error != null)
            {
                return;
            }

            _wake.Wait((int)leftMs);
        }
    }

    private void ConnectPreempt(MigrationUri uri)
    {
        _preempt = PreemptChannel.Connect(uri, RegisterAbort);
        Ram!.ResetPreemptChannel();
        _rp!.Preempt = _preempt;
    }

    /// <summary>
    /// The migration thread in postcopy-active: requested pages first, background pages after, until nothing is
    /// dirty; then complete. A broken link pauses (and resumes after a recovery) instead of failing.
    /// </summary>
    private void PostcopyLoop()
    {
        RamSaver ram = Ram!;
        while (_state.Current == MigrationStatus.PostcopyActive)
        {
            try
            {
                CheckReturnPath();
                MigrationStream s = _stream!;
                if (ram.DirtyPages == 0)
                {
                    PostcopyComplete(s);
                    return;
                }

                SaveVmWriter.WriteSectionShortHeader(s, SectionType.SectionPart, RamSectionId);
                ram.Iterate(s);
                SaveVmWriter.WriteFooter(s, RamSectionId);
                s.Flush();
                _stats.TransferredBytes = s.Position;
                RateLimit();
            }
            catch (Exception e) when (IsLinkFailure(e) && _state.Current == MigrationStatus.PostcopyActive)
            {
                if (!PostcopyPause(e.Message))
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// QEMU migration_completion in postcopy (qemu_savevm_state_complete_postcopy): the rest of RAM, END and EOF,
    /// the preempt channel's EOS; then wait for SHUT(0) from the destination.
    /// </summary>
    private void PostcopyComplete(MigrationStream s)
    {
        SaveVmWriter.WriteSectionShortHeader(s, SectionType.SectionEnd, RamSectionId);
        Ram!.Complete(s);
        SaveVmWriter.WriteFooter(s, RamSectionId);
        SaveVmWriter.WriteEof(s);
        s.Flush();
        _preempt?.SendEos();
        _stats.TransferredBytes = s.Position;
        if (!AwaitReturnPathClose())
        {
            if (_rp?.ShutStatus == null && _state.Current == MigrationStatus.PostcopyActive)
            {
                // The link broke before the destination confirmed: pause like any other postcopy failure.
                throw new MigrationStreamException(Error ?? "migration: return path closed");
            }

            return;
        }

        long end = MonotonicClock.NowMs;
        _stats.TotalTimeMs = end - _stats.StartTimeMs;
        _stats.Mbps = s.BytesSent * 8.0 / Math.Max(1, _stats.TotalTimeMs - _stats.SetupTimeMs) / 1000.0;
        _stats.RemainingBytes = 0;
        if (_state.TrySet(MigrationStatus.PostcopyActive, MigrationStatus.Completed))
        {
            _machine.SetRunState(RunState.PostMigrate);
            _log.Information("migration: completed (postcopy) in {TotalMs} ms, downtime {DowntimeMs} ms, {Bytes} bytes, {Requests} page requests, postcopy {PostcopyBytes} bytes",
                _stats.TotalTimeMs, _stats.DowntimeMs, s.Position, _stats.PostcopyRequests, _stats.PostcopyBytes);
        }
    }

    private static bool IsLinkFailure(Exception e) => e is MigrationStreamException or IOException or SocketException or ObjectDisposedException;

    /// <summary>
    /// QEMU postcopy_pause: drop the channels, postcopy-paused, and wait for migrate resume=true (or a cancel).
    /// Each resume attempt that fails pauses again ("Pause is always better than throwing data away").
    /// Returns true once postcopy-active again.
    /// </summary>
    private bool PostcopyPause(string cause)
    {
        while (true)
        {
            DropChannels();
            MigrationStatus st = _state.Current;
            if (st is not (MigrationStatus.PostcopyActive or MigrationStatus.PostcopyRecover) || !_state.TrySet(st, MigrationStatus.PostcopyPaused))
            {
                return false;
            }

            _log.Warning("migration: Detected IO failure for postcopy ({Cause}). Migration paused; {Dirty} pages still to send", cause, Ram!.DirtyPages);
            // Only migrate resume=true ends the pause: a cancel is refused once postcopy has switched.
            do
            {
                _resumeSem.Wait();
            }
            while (_state.Current != MigrationStatus.PostcopyRecover);

            try
            {
                DoResume(Volatile.Read(ref _resumeUri)!);
                return true;
            }
            catch (Exception e) when (IsLinkFailure(e) || e is TimeoutException)
            {
                cause = e.Message;
                _log.Warning("migration: postcopy resume failed: {Cause}", cause);
            }
        }
    }

    private void DropChannels()
    {
        _rp?.Stop();
        _preempt?.Dispose();
        _preempt = null;
        _stream?.Close();
        _connection?.Close();
    }

    /// <summary>
    /// QEMU postcopy_do_resume: connect, ask every block's received bitmap (RECV_BITMAP) and reload the dirty
    /// bitmaps from them (what was not received is sent again), then POSTCOPY_RESUME and RESUME_ACK(1).
    /// </summary>
    private void DoResume(MigrationUri uri)
    {
        _connection = MigrationConnection.Connect(uri, RegisterAbort);
        _stream = MigrationStream.ForWriting(_connection.Stream);
        StartReturnPathReader(_connection);
        IReadOnlyList<RamBlock> blocks = Ram!.Blocks;
        foreach (RamBlock b in blocks)
        {
            MigCommandWriter.SendRecvBitmap(_stream, b.IdStr);
        }

        _stream.Flush();
        if (!_rp!.WaitForBitmaps(blocks.Count, ResumeHandshakeTimeout))
        {
            throw new TimeoutException($"migration: resume: received bitmaps did not arrive: {_rp.Error ?? "timeout"}");
        }

        MigCommandWriter.SendPostcopyResume(_stream);
        _stream.Flush();
        if (!_rp.WaitForResumeAck(ResumeHandshakeTimeout))
        {
            throw new TimeoutException($"migration: resume: no RESUME_ACK: {_rp.Error ?? "timeout"}");
        }

        if (_options.Has(MigrationCapability.PostcopyPreempt))
        {
            ConnectPreempt(uri);
        }

        ResetIteration(MonotonicClock.NowMs);
        if (!_state.TrySet(MigrationStatus.PostcopyRecover, MigrationStatus.PostcopyActive))
        {
            throw new MigrationStreamException($"migration: resume: status changed to {_state.Current.ToQmp()} during the handshake");
        }

        _log.Information("migration: postcopy resumed over {Uri}; {Dirty} pages to send", uri.ToString(), Ram.DirtyPages);
    }
}
