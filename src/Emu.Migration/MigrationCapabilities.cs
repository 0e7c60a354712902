namespace Emu.Migration;

/// <summary>
/// The set of enabled capabilities (QEMU MigrationState.capabilities), immutable: a change makes a new value that
/// <see cref="Validate"/> checks as a whole (QEMU migrate_caps_check) before it is applied.
/// </summary>
public readonly record struct MigrationCapabilities(ulong Bits)
{
    public static int Count => Enum.GetValues<MigrationCapability>().Length;

    public bool Has(MigrationCapability c) => (Bits & (1UL << (int)c)) != 0;

    public MigrationCapabilities With(MigrationCapability c, bool on) =>
        new(on ? Bits | (1UL << (int)c) : Bits & ~(1UL << (int)c));

    /// <summary>QEMU migrate_caps_check: the combination rules; null when the set is acceptable.</summary>
    public string? Validate()
    {
        if (Has(MigrationCapability.PostcopyPreempt) && !Has(MigrationCapability.PostcopyRam))
        {
            return "Postcopy preempt requires postcopy-ram";
        }

        if (Has(MigrationCapability.DirtyLimit) && Has(MigrationCapability.AutoConverge))
        {
            // QEMU's text, word for word. QEMU also wants KVM's dirty ring here; Emu counts dirty pages itself.
            return "dirty-limit conflicts with auto-converge either of then available currently";
        }

        string? multifd = Multifd.MultifdCapabilityRules.Validate(this);
        if (multifd != null)
        {
            return multifd;
        }

        return null;
    }

    /// <summary>The return path is opened for postcopy-ram or return-path (QEMU migrate_fd_connect).</summary>
    public bool WantsReturnPath => Has(MigrationCapability.ReturnPath) || Has(MigrationCapability.PostcopyRam);
}
