namespace Emu.Migration.VmState;

/// <summary>Constants of QEMU's savevm file format (savevm.c).</summary>
public static class SaveVmFormat
{
    /// <summary>"QEVM" big-endian (QEMU_VM_FILE_MAGIC).</summary>
    public const uint FileMagic = 0x5145564D;

    /// <summary>QEMU_VM_FILE_VERSION.</summary>
    public const uint FileVersion = 3;

    /// <summary>The machine type Emu sends in the configuration section; the destination must match it.</summary>
    public const string MachineType = "pc-emu";

    /// <summary>Longest configuration name accepted on load (QEMU's machine names are far shorter).</summary>
    public const int MaxConfigurationNameLength = 256;

    /// <summary>Largest vmdesc JSON a destination reads (it is skipped, but bounded so a hostile length cannot stall it).</summary>
    public const int MaxVmDescriptionLength = 64 << 20;
}
