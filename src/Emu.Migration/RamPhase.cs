namespace Emu.Migration;

/// <summary>Which byte counter RAM records go to (QEMU ram_transferred_add).</summary>
public enum RamPhase
{
    /// <summary>The source guest runs.</summary>
    Precopy,

    /// <summary>The source guest is stopped for the switchover.</summary>
    Downtime,

    /// <summary>The destination runs; pages arrive in the background or on request.</summary>
    Postcopy,
}
