namespace Emu.Benchmarks.Macro;

/// <summary>
/// A guest as both emulators boot it: <c>out/guests/KERNEL</c> with <c>-m MemoryMiB</c> and an optional
/// multiboot command line; <see cref="ReadyText"/> is what its serial output shows once it is doing its work
/// (for ab, a "B": one full pass, so every page of its region is non-zero before a migration starts).
/// </summary>
/// <remarks>
/// Emu's Linux guest also has an <see cref="Initrd"/>, and QEMU runs it as the CPU Linux expects there
/// (<see cref="QemuCpu"/>, <c>-cpu pentium2</c>).
/// </remarks>
internal sealed record GuestSpec(string Kernel, long MemoryMiB, string? Append, string ReadyText, string? Initrd = null, string? QemuCpu = null, string? Name = null)
{
    public static GuestSpec Ab(long memoryMiB) => new("ab.elf", memoryMiB, null, "B");

    public static GuestSpec Idle(long memoryMiB) => new("idle.elf", memoryMiB, null, "I");

    /// <summary>Linux 6.1 running the in-guest a-b checker over 16 MiB, a pass every 50 ms; ready at its third pass.</summary>
    public static GuestSpec Linux(long memoryMiB) =>
        new(Path.Combine("linux", "bzImage"), memoryMiB, "console=ttyS0 abcheck=16,50", "abcheck: pass 3 ok", Path.Combine("linux", "initrd.gz"), "pentium2", "linux");

    public string KernelPath => RepoPaths.Guest(Kernel);

    public string? InitrdPath => Initrd == null ? null : RepoPaths.Guest(Initrd);

    /// <summary>A short label such as <c>ab 1 GiB</c>.</summary>
    public string Label =>
        $"{Name ?? Path.GetFileNameWithoutExtension(Kernel)} {(MemoryMiB % 1024 == 0 ? $"{MemoryMiB / 1024} GiB" : $"{MemoryMiB} MiB")}";
}
