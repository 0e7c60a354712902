using System.Text.Json.Nodes;

namespace Emu.Monitor;

/// <summary>
/// The version QMP reports in its greeting and in <c>query-version</c> (QEMU's VersionInfo). Emu speaks the
/// QMP dialect of the QEMU release named here, so tools that check the version pick the matching behaviour.
/// </summary>
public sealed record QmpVersion(int Major, int Minor, int Micro, string Package)
{
    /// <summary>QEMU 7.2's protocol, as the migration benchmarks compare against qemu-system-i386 7.2.</summary>
    public static QmpVersion Emu { get; } = new(7, 2, 0, "Emu");

    /// <summary>QEMU's VersionInfo: <c>{"qemu": {"micro", "minor", "major"}, "package"}</c>.</summary>
    public JsonObject ToQmp() => new()
    {
        ["qemu"] = new JsonObject { ["micro"] = Micro, ["minor"] = Minor, ["major"] = Major },
        ["package"] = Package,
    };
}
