namespace Emu.Migration;

/// <summary>
/// The current capabilities and parameters of one emu process (QEMU MigrationState's capabilities and
/// parameters). Both are immutable values swapped whole, so the migration thread reads a consistent snapshot
/// while QMP changes them.
/// </summary>
public sealed class MigrationOptions
{
    private MigrationParameters _parameters = new();
    private ulong _capabilityBits;

    public MigrationParameters Parameters
    {
        get => Volatile.Read(ref _parameters);
        set => Volatile.Write(ref _parameters, value);
    }

    public MigrationCapabilities Capabilities
    {
        get => new(Volatile.Read(ref _capabilityBits));
        set => Volatile.Write(ref _capabilityBits, value.Bits);
    }

    public bool Has(MigrationCapability c) => Capabilities.Has(c);
}
