namespace Emu.Benchmarks.Macro;

/// <summary>
/// A guest as both emulators boot it: <c>out/guests/KERNEL</c> with <c>-m MemoryMiB</c> and an optional
/// multiboot command line; <see cref="ReadyText"/> is what its serial output shows once it is doing its work
/// (for ab, a "B": one full pass, so every page of its region is non-zero before a migration starts).
/// </summary>
internal sealed record GuestSpec(string Kernel, long MemoryMiB, string? Append, string ReadyText)
{
    public static GuestSpec Ab(long memoryMiB) => new("ab.elf", memoryMiB, null, "B");

    public static GuestSpec Idle(long memoryMiB) => new("idle.elf", memoryMiB, null, "I");

    public string KernelPath => RepoPaths.Guest(Kernel);

    /// <summary>A short label such as <c>ab 1 GiB</c>.</summary>
    public string Label =>
        $"{Path.GetFileNameWithoutExtension(Kernel)} {(MemoryMiB % 1024 == 0 ? $"{MemoryMiB / 1024} GiB" : $"{MemoryMiB} MiB")}";
}
