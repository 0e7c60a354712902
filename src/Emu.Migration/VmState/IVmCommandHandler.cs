using Emu.Migration.Stream;

namespace Emu.Migration.VmState;

/// <summary>
/// Handles QEMU_VM_COMMAND records (MIG_CMD_*: return path, ping, postcopy). Precopy-only destinations have none
/// and refuse every command.
/// </summary>
public interface IVmCommandHandler
{
    /// <summary>Consumes exactly <paramref name="length"/> payload bytes; returns false to end the load loop (postcopy hand-off).</summary>
    bool Handle(MigrationStream s, ushort command, ushort length);
}
