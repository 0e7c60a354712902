namespace Emu.Migration;

/// <summary>
/// The migration capabilities Emu supports, with QEMU's QMP names (<see cref="MigrationCapabilityNames"/>).
/// All default off, as QEMU's.
/// </summary>
public enum MigrationCapability
{
    /// <summary>Accepted for compatibility: Emu always emits MIGRATION and MIGRATION_PASS events.</summary>
    Events,

    /// <summary>Throttle the vCPUs while the guest dirties memory faster than it can be sent (ram.c auto-converge).</summary>
    AutoConverge,

    /// <summary>Postcopy may be started with migrate-start-postcopy.</summary>
    PostcopyRam,

    /// <summary>The destination opens a return path (implied by postcopy-ram).</summary>
    ReturnPath,

    /// <summary>Stop in pre-switchover after the VM is stopped, until migrate-continue.</summary>
    PauseBeforeSwitchover,

    /// <summary>Destination measures vCPU time blocked on missing pages.</summary>
    PostcopyBlocktime,

    /// <summary>Requested postcopy pages travel on a separate channel.</summary>
    PostcopyPreempt,

    /// <summary>Send re-dirtied pages as XOR deltas against a page cache (ram.c XBZRLE, <see cref="Ram.Xbzrle"/>).</summary>
    Xbzrle,

    /// <summary>
    /// When the guest dirties memory faster than it can be sent, limit each vCPU's dirty-page rate to
    /// vcpu-dirty-limit instead of throttling its CPU time (ram.c migration_dirty_limit_guest).
    /// </summary>
    DirtyLimit,

    /// <summary>Pages travel in batches over extra connections (multifd-channels of them), <see cref="Multifd"/>.</summary>
    Multifd,
}
