namespace Emu.Migration.Multifd;

/// <summary>
/// The multifd part of QEMU migrate_caps_check. QEMU 7.2 accepts multifd with postcopy-ram (pages go to the
/// multifd channels only before the switch, ram_save_target_page's "!migration_in_postcopy()"), and so does Emu.
/// It also accepts multifd with xbzrle and with postcopy-preempt, but sends multifd pages past XBZRLE's cache and
/// cannot tell a preempt connection from a multifd one on the destination (migration_ioc_process_incoming hands
/// every extra connection to multifd); later QEMUs refuse the first, and Emu refuses both.
/// </summary>
internal static class MultifdCapabilityRules
{
    /// <summary>The reason the set cannot be used, or null.</summary>
    public static string? Validate(MigrationCapabilities caps)
    {
        if (!caps.Has(MigrationCapability.Multifd))
        {
            return null;
        }

        if (caps.Has(MigrationCapability.Xbzrle))
        {
            // QEMU 8.2's text.
            return "Multifd is not compatible with xbzrle";
        }

        if (caps.Has(MigrationCapability.PostcopyPreempt))
        {
            return "Postcopy preempt is not compatible with multifd";
        }

        return null;
    }
}
