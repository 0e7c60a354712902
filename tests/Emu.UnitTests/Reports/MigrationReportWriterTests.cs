using Emu.Display;
using Emu.Migration.Report;
using Emu.Reports;
using Emu.UnitTests.Display;

namespace Emu.UnitTests.Reports;

public sealed class MigrationReportWriterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"emu-report-{Guid.NewGuid():N}");

    private static MigrationPass Pass(long n, double ms, long remaining) =>
        new(n, ms, n * 1000, 50, 0, 200, remaining, n * 4_096_000, (int)(n * 10), 900.5, 120);

    [Fact]
    public void WritesAPngPlotACsvRowAndAJsonObjectPerPass()
    {
        MigrationPass[] passes = [Pass(1, 0, 128 << 20), Pass(2, 1500.5, 64 << 20), Pass(3, 2100, 1 << 20)];
        MigrationReportWriter.Files f = MigrationReportWriter.Write(passes, Path.Combine(_dir, "m"), "test");

        FrameBuffer png = PngImage.Read(File.ReadAllBytes(f.Png));
        Assert.Equal((MigrationReportWriter.Width, MigrationReportWriter.Height), (png.Width, png.Height));
        string[] csv = File.ReadAllLines(f.Csv);
        Assert.Equal(4, csv.Length);
        Assert.Equal("2,1500.5,2000,50,0,200,67108864,8192000,20,900.5,120", csv[2]);
        Assert.Contains("\"remaining-bytes\": 1048576", File.ReadAllText(f.Json));
    }

    [Fact]
    public void NoPassesIsRefused() =>
        Assert.Throws<InvalidOperationException>(() => MigrationReportWriter.Write([], Path.Combine(_dir, "m"), "t"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
