using Emu.Machine.Board;

namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// The machine both ends of the fuzzed migration run: the a-b guest (out/guests/ab.elf, built by ./run.sh build)
/// in 4 MiB of RAM, its region 2–3 MiB, and a fixed CMOS clock so two machines built alike are alike.
/// </summary>
internal static class FuzzGuest
{
    public const ulong RamBytes = 4UL << 20;

    private static readonly DateTime RtcBase = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>out/guests/ab.elf under the repository holding Emu.sln above <paramref name="from"/>.</summary>
    public static string KernelPath(string from)
    {
        for (DirectoryInfo? d = new(from); d != null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Emu.sln")))
            {
                string path = Path.Combine(d.FullName, "out", "guests", "ab.elf");
                return File.Exists(path) ? path : throw new FileNotFoundException($"fuzz: {path} does not exist; run ./run.sh build first", path);
            }
        }

        throw new FileNotFoundException($"fuzz: no Emu.sln above {from}");
    }

    public static PcMachine Build(byte[] kernel) => new(new MachineOptions
    {
        RamSizeBytes = RamBytes,
        Kernel = kernel,
        KernelName = "ab.elf",
        RtcBase = RtcBase,
    });
}
