namespace Emu.Migration;

/// <summary>The one mapping between <see cref="MigrationCapability"/> and QEMU's QMP capability names.</summary>
public static class MigrationCapabilityNames
{
    private static readonly string[] Names =
        ["events", "auto-converge", "postcopy-ram", "return-path", "pause-before-switchover", "postcopy-blocktime", "postcopy-preempt", "xbzrle", "dirty-limit", "multifd"];

    public static IReadOnlyList<string> All => Names;

    public static string ToQmp(this MigrationCapability c) => Names[(int)c];

    public static bool TryParse(string name, out MigrationCapability capability)
    {
        int i = Array.IndexOf(Names, name);
        capability = i < 0 ? default : (MigrationCapability)i;
        return i >= 0;
    }
}
