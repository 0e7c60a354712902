using Emu.Machine.Diagnostics;

namespace Emu.UnitTests.Diagnostics;

public class ProcFileTests
{
    [Fact]
    public void ReadsAKeyInKibAndNothingForAMissingKeyOrFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"procfile-{Guid.NewGuid():N}");
        File.WriteAllLines(path, ["VmPeak:\t  123456 kB", "VmRSS:\t   98765 kB", "VmRSSx:\t 1 kB", "Threads:\t12"]);
        try
        {
            Assert.Equal(98765UL, ProcFile.ReadKiB(path, "VmRSS"));
            Assert.Equal(12UL, ProcFile.ReadKiB(path, "Threads"));
            Assert.Null(ProcFile.ReadKiB(path, "VmSwap"));
            Assert.Null(ProcFile.ReadKiB(path + ".gone", "VmRSS"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
