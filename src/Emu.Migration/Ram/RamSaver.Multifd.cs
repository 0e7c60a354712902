using Emu.Migration.Multifd;
using Emu.Migration.Stream;

namespace Emu.Migration.Ram;

/// <summary>The multifd side of <see cref="RamSaver"/> (ram.c's ram_save_multifd_page and the flush points).</summary>
public sealed partial class RamSaver
{
    // Set by the page search when it wraps to the first block (QEMU find_dirty_block's complete_round).
    private bool _roundEnded;

    /// <summary>
    /// While set, pages that are not zero go to these channels instead of the main stream (QEMU
    /// ram_save_target_page with migrate_use_multifd); zero pages stay on the main stream, as QEMU 7.2's. The
    /// migration thread clears it at the postcopy switch: from there on pages go on the main channel, as QEMU
    /// sends none to multifd in postcopy.
    /// </summary>
    public MultifdSender? Multifd { get; set; }

    /// <summary>
    /// QEMU multifd_send_sync_main + RAM_SAVE_FLAG_MULTIFD_FLUSH: every channel sends what it has and a sync packet,
    /// then the main stream says so and is flushed (the destination waits at the flush for every channel, so it must
    /// not sit in a buffer while the channels wait for the destination to go on). At the end of setup, at every
    /// wrap of the page search (a page may be sent again in the next round, and must not overtake its older copy on
    /// another channel) and at completion. No-op without multifd.
    /// </summary>
    public void SendMultifdFlush(MigrationStream s, bool waitForChannels = true)
    {
        if (Multifd is not { } multifd)
        {
            return;
        }

        multifd.SyncMain(s, waitForChannels);
        s.WriteU64((ulong)RamSaveFlags.MultifdFlush);
        _stats.AddRamBytes(Phase, 8);
        s.Flush();
    }

    /// <summary>The page search wrapped: flush the round on the multifd channels before the next page.</summary>
    private void EndRoundIfWrapped(MigrationStream s)
    {
        if (_roundEnded)
        {
            _roundEnded = false;
            SendMultifdFlush(s);
        }
    }
}
