namespace Emu.Migration.Multifd;

/// <summary>The multifd part of QEMU migrate_params_check, with QEMU's texts.</summary>
internal static class MultifdParameterRules
{
    /// <summary>QEMU's bound on multifd-channels (a uint8 that may not be 0).</summary>
    public const ulong MaxChannels = 255;

    /// <summary>zlib's highest level (Z_BEST_COMPRESSION).</summary>
    public const ulong MaxZlibLevel = 9;

    /// <summary>QEMU's bound on multifd-zstd-level (ZSTD_maxCLevel is 22; QEMU stops at 20).</summary>
    public const ulong MaxZstdLevel = 20;

    /// <summary>The reason the parameters cannot be used, or null.</summary>
    public static string? Validate(MigrationParameters p)
    {
        if (p.MultifdChannels is < 1 or > MaxChannels)
        {
            return MigrationParameters.InvalidValue("multifd_channels", $"a value between 1 and {MaxChannels}");
        }

        if (p.MultifdZlibLevel > MaxZlibLevel)
        {
            return MigrationParameters.InvalidValue("multifd_zlib_level", $"a value between 0 and {MaxZlibLevel}");
        }

        if (p.MultifdZstdLevel > MaxZstdLevel)
        {
            return MigrationParameters.InvalidValue("multifd_zstd_level", $"a value between 0 and {MaxZstdLevel}");
        }

        return null;
    }
}
