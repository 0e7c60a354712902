using System.Diagnostics;
using Emu.Machine.Board;
using Emu.Machine.State;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.Migration.Precopy;

/// <summary>Completion, failure and cleanup of <see cref="MigrationThread"/> (migration_completion and after).</summary>
public sealed partial class MigrationThread
{
    /// <summary>Section ids in registration order, as QEMU numbers its handlers: ram first, then globalstate.</summary>
    internal const uint RamSectionId = 0, GlobalStateSectionId = 1, FirstDeviceSectionId = 2;

    /// <summary>
    /// QEMU migration_completion for precopy: stop the VM (FINISH_MIGRATE), optionally wait in pre-switchover,
    /// send the rest of RAM unlimited, then every device as a FULL section, EOF and the vmdesc. From the stop on, a
    /// failure restarts the VM (<see cref="Finish"/>).
    /// </summary>
    private void Completion()
    {
        MigrationStream s = _stream!;
        RamSaver ram = Ram!;
        _downtimeStartMs = MonotonicClock.NowMs;
        _downtimeStamp.SourceStopMonotonicNs = MonotonicClock.NowNs;
        _oldRunState = _machine.RunState;
        _globalState.Store(_oldRunState);
        long t0 = Stopwatch.GetTimestamp();
        _machine.Stop(RunState.FinishMigrate);
        _stoppedByUs = true;
        long tStopped = Stopwatch.GetTimestamp();
        ram.Phase = RamPhase.Downtime;

        MigrationStatus current = MigrationStatus.Active;
        if (!MaybePause(ref current, MigrationStatus.Device))
        {
            return;
        }

        s.RateLimitMax = 0;
        SaveVmWriter.WriteSectionShortHeader(s, SectionType.SectionEnd, RamSectionId);
        long ramStartBytes = s.Position;
        ram.Complete(s);
        SaveVmWriter.WriteFooter(s, RamSectionId);
        long tRam = Stopwatch.GetTimestamp();
        long ramBytes = s.Position - ramStartBytes;
        List<IVmStateDevice> sections = WriteDeviceSections(s);
        SaveVmWriter.WriteEof(s);
        SaveVmWriter.WriteVmDescription(s, VmDescription.Build(sections));
        long tDevices = Stopwatch.GetTimestamp();
        s.Flush();
        long tFlushed = Stopwatch.GetTimestamp();
        _log.Debug("migration: switchover stop {StopMs:F1} ms, ram {RamMs:F1} ms ({RamBytes} bytes, sync {SyncMs:F1} ms), devices {DevicesMs:F1} ms, flush {FlushMs:F1} ms",
            Ms(t0, tStopped), Ms(tStopped, tRam), ramBytes, ram.LastSyncMs, Ms(tRam, tDevices), Ms(tDevices, tFlushed));
        if (!AwaitReturnPathClose())
        {
            return;
        }

        long end = MonotonicClock.NowMs;
        _stats.TransferredBytes = s.Position;
        _stats.DowntimeMs = end - _downtimeStartMs;
        _stats.TotalTimeMs = end - _stats.StartTimeMs;
        long transferMs = Math.Max(1, _stats.TotalTimeMs - _stats.SetupTimeMs);
        _stats.Mbps = SentBytes * 8.0 / transferMs / 1000.0;
        _stats.RemainingBytes = 0;
        if (_state.TrySet(current, MigrationStatus.Completed))
        {
            _machine.SetRunState(RunState.PostMigrate);
            _log.Information("migration: completed in {TotalMs} ms, downtime {DowntimeMs} ms, {Bytes} bytes, {Passes} passes, throttle {Throttle}%",
                _stats.TotalTimeMs, _stats.DowntimeMs, s.Position, _stats.DirtySyncCount, _machine.ThrottlePercent);
        }
    }

    /// <summary>
    /// QEMU migration_maybe_pause, with the source VM already stopped: with pause-before-switchover, go
    /// <paramref name="current"/> → pre-switchover, wait for migrate-continue, then → <paramref name="next"/>
    /// (device at a precopy completion, postcopy-active at the postcopy switch) and make that the current state.
    /// False when a cancel came first: the caller returns and <see cref="Finish"/> restarts the source.
    /// </summary>
    private bool MaybePause(ref MigrationStatus current, MigrationStatus next)
    {
        if (!_options.Has(MigrationCapability.PauseBeforeSwitchover))
        {
            return true;
        }

        // A migrate-continue that raced an earlier leaving of pre-switchover, or a cancel's release, may have left
        // the semaphore positive: eat it (QEMU's timedwait loop), then look at the state.
        while (_pauseSem.Wait(0))
        {
        }

        if (!_state.TrySet(current, MigrationStatus.PreSwitchover))
        {
            return false;
        }

        _log.Information("migration: paused before switchover ({Next} next); waiting for migrate-continue", next.ToQmp());
        _pauseSem.Wait();
        if (!_state.TrySet(MigrationStatus.PreSwitchover, next))
        {
            return false;
        }

        current = next;
        return true;
    }

    /// <summary>
    /// QEMU qemu_savevm_state_complete_precopy's non-iterable part: every device as a FULL section (the main
    /// stream at precopy completion, the PACKAGED blob at the postcopy switch).
    /// </summary>
    private List<IVmStateDevice> WriteDeviceSections(MigrationStream s)
    {
        List<IVmStateDevice> sections = DeviceSections();
        for (int i = 0; i < sections.Count; i++)
        {
            IVmStateDevice d = sections[i];
            uint id = i == 0 ? GlobalStateSectionId : FirstDeviceSectionId + (uint)i - 1;
            SaveVmWriter.WriteSectionHeader(s, SectionType.SectionFull, id, d.SectionName, (uint)d.InstanceId, (uint)d.Description.Version);
            d.SaveState(s);
            SaveVmWriter.WriteFooter(s, id);
        }

        return sections;
    }

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>globalstate, every device of the machine, then Emu's downtime stamp.</summary>
    private List<IVmStateDevice> DeviceSections()
    {
        var list = new List<IVmStateDevice>(_machine.Devices.Count + 2) { _globalState };
        list.AddRange(_machine.Devices);
        list.Add(_downtimeStamp);
        return list;
    }

    /// <summary>
    /// QEMU migration_iteration_finish + migrate_fd_cleanup: throttle off, dirty logging off, channel closed; a
    /// source stopped by this thread runs again (before the status says so) unless the migration completed; then
    /// cancelling → cancelled, any other unfinished state → failed.
    /// </summary>
    private void Finish()
    {
        _autoConverge.Stop();
        Ram?.Cleanup();
        try
        {
            _multifd?.Dispose();
            _rp?.Stop();
            _preempt?.Dispose();
            _stream?.Close();
        }
        finally
        {
            _connection?.Close();
        }

        MigrationStatus st = _state.Current;
        if (st == MigrationStatus.Completed)
        {
            return;
        }

        if (_stoppedByUs && EnteredPostcopy)
        {
            // QEMU restarts the source only if postcopy never started: the destination owns the guest now.
            _log.Error("migration: failed after the postcopy switch; the source guest stays stopped (its state lives on the destination)");
        }
        else if (_stoppedByUs)
        {
            if (_oldRunState == RunState.Running)
            {
                _machine.Start();
            }
            else
            {
                _machine.SetRunState(_oldRunState);
            }
        }

        if (_state.TrySet(MigrationStatus.Cancelling, MigrationStatus.Cancelled))
        {
            _log.Information("migration: cancelled; the source guest keeps running");
            return;
        }

        // Left the loop without an outcome: a failure, never a success.
        Error ??= "migration: ended without completing";
        while ((st = _state.Current).IsRunning() && st != MigrationStatus.Cancelling)
        {
            if (_state.TrySet(st, MigrationStatus.Failed))
            {
                _log.Error("migration: failed: {Error}; the source guest keeps running", Error);
                return;
            }
        }

        _state.TrySet(MigrationStatus.Cancelling, MigrationStatus.Cancelled);
    }
}
