using System.Net.Sockets;
using Emu.Machine.Board;
using Emu.Migration.Postcopy;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;
using Emu.Migration.VmState;

namespace Emu.Migration.Precopy;

/// <summary>
/// The postcopy half of <see cref="IncomingMigration"/>: the listen thread ("mig/dst/listen", QEMU
/// postcopy_ram_listen_thread) that reads the rest of the stream while the guest runs, the preempt channel
/// ("mig/dst/preempt"), the pause on a broken link and the recovery through migrate-recover.
/// </summary>
/// <remarks>
/// A destination that loses its source stays in postcopy-paused, its guest waiting for the pages it lacks, until
/// migrate-recover reconnects it (as QEMU). Giving up is explicit: migrate_cancel (or quit) on the paused
/// destination, or Emu's x-postcopy-recover-timeout running out, fails the migration with an error naming the
/// missing pages, and the process exits 1.
/// </remarks>
public sealed partial class IncomingMigration
{
    private readonly object _recoverLock = new();
    private PostcopyIncoming? _postcopy;
    private VmStateLoader? _loader;
    private RamLoader? _ram;
    private GlobalState? _globalState;
    private DowntimeStamp? _downtime;
    private MigrationListener? _recoverListener;
    private MigrationConnection? _preemptConnection;
    private PrestartedThread? _listenThread;
    private Thread? _preemptThread;
    private MigrationListener? _preemptListener;
    private bool _shutDown;

    // Guarded by _recoverLock: a pause is waiting for its recovery channel; the recover timeout ran out (for the
    // pause under way, and the timeout it had).
    private bool _awaitingRecovery;
    private bool _recoverTimedOut;
    private ulong _recoverTimeoutMs;

    /// <summary>The postcopy side once a return path or postcopy command was seen (blocktime, state).</summary>
    public PostcopyIncoming? Postcopy => _postcopy;

    /// <summary>
    /// QEMU qmp_migrate_recover: only while postcopy-paused, and once per pause (postcopy_recover_triggered);
    /// listens on <paramref name="uri"/> at once.
    /// </summary>
    internal void Recover(MigrationUri uri)
    {
        lock (_recoverLock)
        {
            if (_state.Current != MigrationStatus.PostcopyPaused || _shutDown || _recoverTimedOut)
            {
                throw new MigrationException("Migrate recover can only be run when postcopy is paused.");
            }

            if (_recoverListener != null)
            {
                throw new MigrationException("Migrate recovery is triggered already");
            }

            if (uri.Kind is not (MigrationUriKind.Tcp or MigrationUriKind.Unix))
            {
                throw new MigrationException($"Migrate recover needs a tcp: or unix: URI, not '{uri}'");
            }

            _recoverListener = MigrationListener.Listen(uri);
            Monitor.PulseAll(_recoverLock);
        }
    }

    /// <summary>QEMU qmp_migrate_pause on the destination: shut the incoming channel; the listen thread pauses.</summary>
    internal void PauseLink()
    {
        if (_state.Current is not (MigrationStatus.PostcopyActive or MigrationStatus.PostcopyRecover))
        {
            throw new MigrationException("migrate-pause is currently only supported during postcopy-active or postcopy-recover state");
        }

        _connection?.Close();
        _preemptConnection?.Close();
    }

    /// <summary>
    /// migrate_cancel on a destination that lost its source: recovery is abandoned, the migration fails with a
    /// clear error and the guest, which cannot run without the pages it lacks, ends.
    /// </summary>
    internal void GiveUp()
    {
        if (_state.Current != MigrationStatus.PostcopyPaused)
        {
            throw new MigrationException($"migrate_cancel on the destination is only possible in postcopy-paused, not {_state.Current.ToQmp()}");
        }

        AbandonRecovery(timedOut: false);
    }

    private void StartListenThread(MigrationStream s, PrestartedThread thread)
    {
        _listenThread = thread;
        thread.Run(() => ListenLoop(s));
    }

    /// <summary>
    /// QEMU postcopy_ram_listen_thread: RAM sections until EOF; a broken channel pauses (and waits for a
    /// recovery that hands a new one) instead of failing; at the end every page is in, the return path says
    /// SHUT(0), status completed.
    /// </summary>
    private void ListenLoop(MigrationStream s)
    {
        _loader!.ExpectVmDescription = false;
        try
        {
            while (true)
            {
                try
                {
                    if (!_loader!.LoadSections(s))
                    {
                        throw new MigrationStreamException($"postcopy: a command ended the listen loop at stream offset 0x{s.Position:x}");
                    }

                    break;
                }
                catch (Exception e) when (IsLinkFailure(e) && _state.Current is MigrationStatus.PostcopyActive or MigrationStatus.PostcopyRecover)
                {
                    s = PauseUntilRecovered(e.Message) ?? throw new MigrationStreamException(LostSourceMessage(e.Message));
                }
            }

            // Every page may be in before the main thread has reached RUN in the package: wait for it, as QEMU's
            // listen thread waits on main_thread_load_event, so postcopy does not end under RUN.
            _postcopy!.MainThreadLoadDone.Wait();

            // The source sent its last page before EOF; on the preempt channel it may still be in flight.
            StopPreempt(waitForEos: true);
            long missing = _postcopy!.PagesMissing;
            if (missing != 0)
            {
                throw new MigrationStreamException($"postcopy: stream ended at offset 0x{s.Position:x} with {missing} pages never received");
            }

            _postcopy.Finish();
            _postcopy.ReturnPath.TrySend(ReturnPathMessage.Shut(0));
            _state.TrySet(MigrationStatus.PostcopyActive, MigrationStatus.Completed);
            _log.Information("migration: incoming completed (postcopy), {Pages} pages, {Skipped} already present, run state {RunState}",
                _ram!.PagesLoaded, _ram.PagesAlreadyPresent, _machine.RunState.ToQmp());
        }
        catch (Exception e) when (e is MigrationStreamException or IOException or SocketException or ObjectDisposedException)
        {
            Fail(e.Message);
        }
        catch (Exception e)
        {
            _log.Error(e, "migration: internal error in the postcopy listen thread");
            Fail($"migration: internal error: {e.Message}");
        }
        finally
        {
            _connection?.Close();
            _preemptConnection?.Close();
        }
    }

    private static bool IsLinkFailure(Exception e) => e is MigrationStreamException or IOException or SocketException or ObjectDisposedException;

    private string LostSourceMessage(string cause)
    {
        string why;
        lock (_recoverLock)
        {
            why = _recoverTimedOut
                ? $"no recovery came within x-postcopy-recover-timeout ({_recoverTimeoutMs} ms)"
                : "recovery was abandoned";
        }

        return $"postcopy: lost the source ({cause}) and {why}; the guest cannot run without the {_postcopy?.PagesMissing ?? 0} pages it has not received";
    }

    /// <summary>
    /// Gives up waiting for a recovery (migrate_cancel, or the x-postcopy-recover-timeout of the pause under way):
    /// the pause ends with no channel, also when a migrate-recover listener is waiting for a source that never
    /// comes, and the listen thread fails the migration. A timeout counts only while its pause still waits.
    /// </summary>
    private void AbandonRecovery(bool timedOut)
    {
        lock (_recoverLock)
        {
            if (timedOut)
            {
                if (!_awaitingRecovery)
                {
                    return;
                }

                _recoverTimedOut = true;
            }
            else
            {
                _shutDown = true;
            }

            _recoverListener?.Dispose();
            Monitor.PulseAll(_recoverLock);
        }
    }

    /// <summary>
    /// QEMU postcopy_pause_incoming: close the channel and the return path, postcopy-paused, and wait for
    /// migrate-recover's channel (QEMU postcopy_try_recover): postcopy-recover, the return path reopened on it.
    /// Returns the new stream, or null when recovery is abandoned (migrate_cancel, shutdown) or the
    /// x-postcopy-recover-timeout, read at the pause, runs out first.
    /// </summary>
    private MigrationStream? PauseUntilRecovered(string cause)
    {
        _connection?.Close();
        _preemptConnection?.Close();
        _postcopy!.ReturnPath.Close();
        StopPreempt(waitForEos: false);
        ulong timeoutMs = _options.Parameters.PostcopyRecoverTimeoutMs;
        lock (_recoverLock)
        {
            _awaitingRecovery = true;
            _recoverTimedOut = false;
            _recoverTimeoutMs = timeoutMs;
        }

        MigrationStatus st = _state.Current;
        _state.TrySet(st, MigrationStatus.PostcopyPaused);
        _log.Warning("postcopy: lost the source ({Cause}); paused with {Missing} pages missing, the guest waits; run migrate-recover to reconnect (x-postcopy-recover-timeout {TimeoutMs} ms, 0: no limit)",
            cause, _postcopy.PagesMissing, timeoutMs);
        using Timer? giveUp = timeoutMs == 0 ? null : new Timer(_ => AbandonRecovery(timedOut: true), null, (long)timeoutMs, Timeout.Infinite);
        try
        {
            return WaitForRecoveryChannel();
        }
        finally
        {
            lock (_recoverLock)
            {
                _awaitingRecovery = false;
            }
        }
    }

    /// <summary>Accepts on each migrate-recover listener until one channel connects or recovery is abandoned.</summary>
    private MigrationStream? WaitForRecoveryChannel()
    {
        while (true)
        {
            MigrationListener listener;
            lock (_recoverLock)
            {
                while (_recoverListener == null && !_shutDown && !_recoverTimedOut)
                {
                    Monitor.Wait(_recoverLock);
                }

                if (_shutDown || _recoverTimedOut)
                {
                    return null;
                }

                listener = _recoverListener!;
            }

            MigrationConnection c;
            try
            {
                c = listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                lock (_recoverLock)
                {
                    _recoverListener = null;
                    if (_shutDown || _recoverTimedOut)
                    {
                        return null;
                    }
                }

                _log.Warning("postcopy: recovery channel failed ({Cause}); still paused", e.Message);
                continue;
            }

            lock (_recoverLock)
            {
                _recoverListener = null;
                if (_shutDown || _recoverTimedOut)
                {
                    // Given up while this connection was being accepted: the source is turned away.
                    c.Close();
                    listener.Dispose();
                    return null;
                }

                // From here the timeout no longer applies: this pause has its channel.
                _awaitingRecovery = false;
            }

            _connection = c;
            if (_options.Has(MigrationCapability.PostcopyPreempt))
            {
                StartPreemptAcceptor(listener);
            }
            else
            {
                listener.Dispose();
            }

            _state.TrySet(MigrationStatus.PostcopyPaused, MigrationStatus.PostcopyRecover);
            _postcopy!.Channel = c.Stream;
            _postcopy.ReturnPath.Open(c.Stream);
            _ram!.ResetChannel();
            _log.Information("postcopy: recovery channel connected");
            return MigrationStream.ForReading(c.Stream);
        }
    }

    /// <summary>Ends the preempt thread: a channel never connected is given up; a connected one runs to its EOS.</summary>
    private void StopPreempt(bool waitForEos)
    {
        if (Volatile.Read(ref _preemptConnection) == null || !waitForEos)
        {
            _preemptListener?.Dispose();
            _preemptConnection?.Close();
        }

        _preemptThread?.Join();
    }

    private void StartPreemptAcceptor(MigrationListener listener)
    {
        _preemptListener = listener;
        _preemptThread = new Thread(() => PreemptLoop(listener)) { Name = "mig/dst/preempt", IsBackground = true };
        _preemptThread.Start();
    }

    /// <summary>
    /// The preempt channel (QEMU postcopy_preempt_thread): accepted on the migration listener after the main
    /// channel, it carries only RAM page records, placed like the main channel's, until EOS or a break.
    /// </summary>
    private void PreemptLoop(MigrationListener listener)
    {
        RamLoader? ram = null;
        try
        {
            MigrationConnection c = listener.Accept();
            listener.Dispose();
            Volatile.Write(ref _preemptConnection, c);
            var s = MigrationStream.ForReading(c.Stream, MigrationStream.RecordBufferSize);
            ram = new RamLoader(_machine.RamBlocks) { Postcopy = _postcopy?.Fault };

            // Pages may only be placed once LISTEN has installed the received bitmaps; the source connects this
            // channel after sending the package, so the first record waits here for that.
            if (s.PeekU8() < 0)
            {
                return;
            }

            while (ram.Postcopy == null)
            {
                Thread.Sleep(1);
                ram.Postcopy = _postcopy?.Fault;
                if (_state.Current is MigrationStatus.Failed or MigrationStatus.Cancelled)
                {
                    return;
                }
            }

            ram.Load(s, RamSaver.SectionVersion, SectionType.SectionPart);
            _log.Information("postcopy: preempt channel done, {Pages} pages placed", ram.PagesLoaded);
        }
        catch (Exception e) when (IsLinkFailure(e))
        {
            _log.Information("postcopy: preempt channel closed after {Pages} pages placed: {Cause}", ram?.PagesLoaded ?? 0, e.Message);
            listener.Dispose();
        }
        finally
        {
            // Counted once per channel when its thread ends; whoever reads the total joins this thread first.
            if (ram != null)
            {
                _postcopy?.AddPreemptPagesPlaced(ram.PagesLoaded);
            }
        }
    }
}
