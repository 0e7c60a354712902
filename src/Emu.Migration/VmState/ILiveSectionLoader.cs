using Emu.Migration.Stream;

namespace Emu.Migration.VmState;

/// <summary>
/// The destination side of an iterative section (QEMU SaveVMHandlers.load_state for "ram"): it is fed each
/// START, PART and END chunk of its section in turn.
/// </summary>
public interface ILiveSectionLoader
{
    string IdStr { get; }

    uint InstanceId { get; }

    /// <summary>The only section version this build loads.</summary>
    int Version { get; }

    /// <summary>Loads one chunk (up to and including its end marker); the caller checks the footer.</summary>
    void Load(MigrationStream s, int versionId, SectionType type);
}
