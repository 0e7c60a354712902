using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// Emu's Linux guest (<c>out/guests/linux/</c>, built by <c>guests/linux/build.sh</c>): how to boot it, how to
/// talk to its shell on the serial console, and the memory rule of its in-guest a-b checker (<c>abcheck</c>).
/// </summary>
public static class LinuxGuest
{
    /// <summary>The start of every line the checker prints for a pass that verified.</summary>
    public const string PassMark = "abcheck: pass";

    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(90);

    private static int _nextMarker;

    public static string Directory => Path.Combine(EmuProcess.RepoRoot, "out", "guests", "linux");

    public static string File(string name)
    {
        string path = Path.Combine(Directory, name);
        return System.IO.File.Exists(path) ? path : throw new InvalidOperationException($"e2e: {path} is missing; run ./run.sh build first");
    }

    /// <summary><c>-kernel bzImage -initrd initrd.gz -append "console=ttyS0 …"</c>.</summary>
    public static string[] BootArgs(string append = "") =>
        ["-kernel", File("bzImage"), "-initrd", File("initrd.gz"), "-append", $"console=ttyS0 {append}".TrimEnd()];

    /// <summary>Waits for busybox's banner on stdout, then for the shell to answer a command.</summary>
    public static void WaitForShell(EmuProcess emu)
    {
        emu.WaitForStdout("Enter 'help' for a list of built-in commands.", BootTimeout);
        Run(emu, "true");
    }

    /// <summary>
    /// Types <paramref name="command"/> into the shell and returns what it printed: the text between a begin and
    /// an end marker that only the shell's own output contains (the typed line holds them split by quotes).
    /// </summary>
    public static string Run(EmuProcess emu, string command, TimeSpan? timeout = null)
    {
        int n = Interlocked.Increment(ref _nextMarker);
        string begin = $"@@B{n}@@", end = $"@@E{n}@@";
        emu.TypeOnStdin($"echo '@@B''{n}@@'; {command}; echo '@@E''{n}@@'\n");
        string output = emu.WaitForStdout(end + "\n", 1, timeout ?? BootTimeout);
        int from = output.LastIndexOf(begin + "\n", StringComparison.Ordinal);
        int to = output.LastIndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, $"e2e: the shell's answer to '{command}' is not between its markers:\n{output}");
        // The checker's pass lines share the console and may land between the markers: they are not the answer.
        string answer = output[(from + begin.Length + 1)..to];
        return string.Join('\n', answer.Split('\n').Where(l => !l.StartsWith(PassMark + " ", StringComparison.Ordinal)));
    }

    /// <summary>The first number of /proc/uptime: seconds the guest has been up.</summary>
    public static double Uptime(EmuProcess emu)
    {
        // The checker's lines may come between the markers; /proc/uptime's is the one of two decimals.
        string output = Run(emu, "cat /proc/uptime");
        Match m = Regex.Match(output, @"^(\d+\.\d+) \d+\.\d+\r?$", RegexOptions.Multiline);
        Assert.True(m.Success, $"e2e: no /proc/uptime line in:\n{output}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The number of the last pass the checker reported on <paramref name="emu"/>'s serial console.</summary>
    public static int LastPass(EmuProcess emu)
    {
        string stdout = emu.StandardOutput;
        int at = stdout.LastIndexOf(PassMark + " ", StringComparison.Ordinal);
        if (at < 0)
        {
            return 0;
        }

        string rest = stdout[(at + PassMark.Length + 1)..];
        return int.Parse(rest[..rest.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until the checker has reported <paramref name="count"/> more passes than it had.</summary>
    public static void WaitForPasses(EmuProcess emu, int count)
    {
        int start = LastPass(emu);
        DateTime deadline = DateTime.UtcNow + BootTimeout;
        while (LastPass(emu) < start + count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"e2e: the a-b checker did not pass {count} more times after pass {start}\n{emu.Diagnostics()}");
            Thread.Sleep(50);
        }
    }

    /// <summary>The checker's lines that say it found a page it did not write.</summary>
    public static IEnumerable<string> CheckerErrors(EmuProcess emu) =>
        emu.StandardOutput.Split('\n').Where(l => l.Contains("abcheck: ERROR", StringComparison.Ordinal) || l.Contains("FAILED", StringComparison.Ordinal));

    /// <summary>
    /// Stops the guest, dumps all of its RAM and checks the checker's region in guest-physical memory: every page
    /// that begins with the marker holds its index and a pass counter; there are <paramref name="pages"/> of them,
    /// one per index; and in index order their counters read v+1 … v+1, v … v with at most one step, because the
    /// checker writes them in order, pass after pass (QEMU's a-b rule). Returns v.
    /// </summary>
    public static uint StopAndCheckRegion(EmuProcess emu, QmpClient qmp, ulong ramBytes, int pages)
    {
        if (MigrationPair.RunStatus(qmp) == "running")
        {
            qmp.Execute("stop");
        }

        string path = Path.Combine(emu.Directory, "ram.bin");
        qmp.Execute("pmemsave", new JsonObject { ["val"] = 0, ["size"] = ramBytes, ["filename"] = path });
        byte[] ram = System.IO.File.ReadAllBytes(path);
        System.IO.File.Delete(path);
        return CheckRegion(ram, pages);
    }

    public static uint CheckRegion(ReadOnlySpan<byte> ram, int pages)
    {
        const uint marker0 = ~0x1234ABCDu, marker1 = 0x5EED0000u ^ 0x0000AB0Cu;
        var counters = new uint?[pages];
        for (int at = 0; at + 16 <= ram.Length; at += 4096)
        {
            ReadOnlySpan<byte> page = ram.Slice(at, 16);
            if (BinaryPrimitives.ReadUInt32LittleEndian(page) != marker0 || BinaryPrimitives.ReadUInt32LittleEndian(page[4..]) != marker1)
            {
                continue;
            }

            uint index = BinaryPrimitives.ReadUInt32LittleEndian(page[8..]);
            Assert.True(index < pages, $"a-b: page at gpa 0x{at:x} claims index {index} of a {pages}-page region");
            Assert.True(counters[index] == null, $"a-b: index {index} appears twice (second at gpa 0x{at:x})");
            counters[index] = BinaryPrimitives.ReadUInt32LittleEndian(page[12..]);
        }

        int missing = counters.Count(c => c == null);
        Assert.True(missing == 0, $"a-b: {missing} of the checker's {pages} pages are not in guest memory");
        uint high = counters[0]!.Value, low = high;
        int steps = 0;
        for (int i = 1; i < pages; i++)
        {
            uint cur = counters[i]!.Value, prev = counters[i - 1]!.Value;
            if (cur == prev)
            {
                continue;
            }

            steps++;
            Assert.True(steps == 1 && cur + 1 == prev, $"a-b rule broken at index {i}: counter {cur} after {prev} (first page {high})");
            low = cur;
        }

        return low;
    }
}
