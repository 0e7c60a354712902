namespace Emu.EndToEndTests.Support;

/// <summary>
/// The a-b guest's memory invariant (QEMU's migration-test check): the first bytes of the region's pages read
/// v+1 … v+1, v … v (mod 256) with at most one step, because the guest increments them in order, pass after pass.
/// </summary>
public static class AbInvariant
{
    public const ulong RegionStart = 2UL << 20;
    public const int PageSize = 4096;

    /// <summary>The region of a guest with <paramref name="ramBytes"/> RAM and no region= argument.</summary>
    public static ulong RegionBytes(ulong ramBytes) => ramBytes - (1UL << 20) - RegionStart;

    /// <summary>Checks a dump of the region (from <see cref="RegionStart"/>); returns v (the lower value).</summary>
    public static byte Check(ReadOnlySpan<byte> region)
    {
        int pages = region.Length / PageSize;
        Assert.True(pages > 1, $"a-b: the dump holds {region.Length} bytes, less than two pages");
        int steps = 0;
        byte first = region[0];
        byte low = first;
        for (int p = 1; p < pages; p++)
        {
            byte prev = region[(p - 1) * PageSize], cur = region[p * PageSize];
            if (prev == cur)
            {
                continue;
            }

            steps++;
            Assert.True(steps == 1 && (byte)(cur + 1) == prev,
                $"a-b invariant broken at page {p} (gpa 0x{RegionStart + ((ulong)p * PageSize):x}): byte {cur} after {prev} (step {steps}; expected one step from v+1 to v)");
            low = cur;
        }

        return low;
    }

    /// <summary>
    /// Stops nothing: dumps the region over QMP pmemsave into a file and checks it. <paramref name="regionBytes"/>
    /// is the guest's region= size when it was given one (default: all RAM from 2 MiB to RAM top - 1 MiB).
    /// </summary>
    public static byte CheckOverQmp(QmpClient qmp, string directory, ulong ramBytes, ulong? regionBytes = null)
    {
        string path = Path.Combine(directory, "region.bin");
        ulong size = regionBytes ?? RegionBytes(ramBytes);
        qmp.Execute("pmemsave", new System.Text.Json.Nodes.JsonObject { ["val"] = RegionStart, ["size"] = size, ["filename"] = path });
        byte[] dump = File.ReadAllBytes(path);
        Assert.Equal((long)size, dump.LongLength);
        byte v = Check(dump);
        File.Delete(path);
        return v;
    }
}
