using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;

namespace Emu.Migration.Postcopy;

/// <summary>
/// The source's postcopy-preempt channel (QEMU postcopy_qemufile_src): a second connection to the destination
/// that carries only the pages the destination asked for, so they never queue behind background pages on the main
/// channel. The return-path thread sends on it; the migration thread ends it with EOS at completion. One lock
/// keeps their records whole.
/// </summary>
public sealed class PreemptChannel : IDisposable
{
    private readonly object _lock = new();
    private readonly MigrationConnection _connection;
    private readonly MigrationStream _out;

    private PreemptChannel(MigrationConnection connection)
    {
        _connection = connection;
        _out = MigrationStream.ForWriting(connection.Stream, MigrationStream.RecordBufferSize);
    }

    /// <summary>QEMU postcopy_preempt_setup + establish_channel: connect to the same URI as the main channel.</summary>
    public static PreemptChannel Connect(MigrationUri uri, Action<Action>? registerAbort) => new(MigrationConnection.Connect(uri, registerAbort));

    /// <summary>Sends the requested pages still dirty (ram_save_host_page_urgent) and flushes.</summary>
    public int SendUrgent(RamSaver ram, string? idStr, ulong start, uint length)
    {
        lock (_lock)
        {
            return ram.SaveUrgentPages(_out, idStr, start, length);
        }
    }

    /// <summary>QEMU postcopy_preempt_shutdown_file: EOS tells the destination no more pages come here.</summary>
    public void SendEos()
    {
        lock (_lock)
        {
            _out.WriteU64((ulong)RamSaveFlags.Eos);
            _out.Flush();
        }
    }

    public void Dispose()
    {
        _out.Close();
        _connection.Close();
    }
}
