namespace Emu.Migration.Multifd;

/// <summary>The one mapping between <see cref="MultifdCompression"/> and QEMU's QMP names.</summary>
public static class MultifdCompressionNames
{
    private static readonly string[] Names = ["none", "zlib", "zstd"];

    public static string ToQmp(this MultifdCompression c) => Names[(int)c];

    public static bool TryParse(string name, out MultifdCompression compression)
    {
        int i = Array.IndexOf(Names, name);
        compression = i < 0 ? default : (MultifdCompression)i;
        return i >= 0;
    }
}
