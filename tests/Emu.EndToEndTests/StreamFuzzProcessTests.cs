using System.Diagnostics;
using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;
using Emu.UnitTests.Migration.Fuzz;

namespace Emu.EndToEndTests;

/// <summary>
/// The stream fuzzer's process-level path (issue 15): a real <c>migrate file:</c> snapshot of the a-b guest,
/// damaged by the unit tests' mutator (one mutant of each of several kinds, fixed run seed), restored by a real
/// <c>emu -incoming file:</c>. Each destination either exits 1 with one clean <c>emu: …</c> line, or completes
/// and keeps running; never a .NET stack trace, an internal error or a hang. The many mutants run in process
/// (<c>StreamFuzzTests</c>, <c>./run.sh fuzz</c>).
/// </summary>
public sealed class StreamFuzzProcessTests
{
    private const int RunSeed = 15;
    private const int Kinds = 8;
    private const int RamMiB = 4;
    private static readonly TimeSpan Timeout = MigrationPair.Timeout;

    [Fact]
    public void MutantsOfARealSnapshotAreRefusedWithOneLineOrRestoreAndRun()
    {
        byte[] seed;
        using (EmuProcess src = EmuProcess.StartGuest("ab", "fuzz-src", "-m", $"{RamMiB}M"))
        using (QmpClient qmp = src.ConnectQmp())
        {
            src.WaitForSerial("B", 2, Timeout);
            qmp.Execute("stop");
            string path = Path.Combine(src.Directory, "ab.qevm");
            qmp.Execute("migrate", new JsonObject { ["uri"] = $"file:{path}" });
            MigrationPair.WaitForStatus(qmp, ["completed"], Timeout, src.Diagnostics);
            seed = File.ReadAllBytes(path);
        }

        var mutator = new StreamMutator(seed, RunSeed);
        var kinds = new HashSet<StreamMutationKind>();
        var outcomes = new List<string>();
        for (int i = 0; kinds.Count < Kinds; i++)
        {
            StreamMutant mutant = mutator.Make(i);
            if (kinds.Add(mutant.Kind))
            {
                outcomes.Add($"{mutant}: {Restore(mutant)}");
            }
        }

        // Both endings occur, or the handful proves only one path.
        Assert.Contains(outcomes, o => o.Contains(": refused", StringComparison.Ordinal));
        Assert.Contains(outcomes, o => o.Contains(": restored", StringComparison.Ordinal));
    }

    /// <summary>Restores one mutant in a fresh process: "refused: LINE" or "restored, running"; anything else fails.</summary>
    private static string Restore(StreamMutant mutant)
    {
        using var dst = new EmuProcess($"fuzz-{mutant.Index}");
        string path = Path.Combine(dst.Directory, "mutant.qevm");
        string log = Path.Combine(dst.Directory, "dst.log");
        File.WriteAllBytes(path, mutant.Bytes);
        dst.Start("-kernel", EmuProcess.GuestPath("ab"), "-m", $"{RamMiB}M", "-serial", $"file:{dst.SerialPath}", "-display", "none",
            "-qmp", dst.QmpSpec, "--log-file", log, "-incoming", $"file:{path}");
        var clock = Stopwatch.StartNew();
        while (!dst.HasExited)
        {
            if (TryStatus(dst) is "completed")
            {
                // The guest may be garbage now, but the host must keep serving it.
                Thread.Sleep(200);
                using QmpClient qmp = dst.ConnectQmp();
                string run = MigrationPair.RunStatus(qmp);
                Assert.False(dst.HasExited, $"{mutant} restored, then the process ended:\n{dst.Diagnostics()}");
                return $"restored, {run}";
            }

            Assert.True(clock.Elapsed < Timeout, $"{mutant}: neither refused nor restored after {Timeout.TotalSeconds:0} s (hang)\n{dst.Diagnostics()}");
            Thread.Sleep(50);
        }

        // Waiting for the exit also drains stderr, which the process may have written just before it ended.
        int exitCode = dst.WaitForExit(Timeout);
        string stderr = dst.StandardError.Trim();
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Unhandled exception", stderr);
        Assert.DoesNotContain("internal error", stderr);
        if (File.Exists(log) && File.ReadAllText(log).Contains("migration: incoming completed", StringComparison.Ordinal))
        {
            // Restored, then the damaged guest ended itself (isa-debug-exit, a reset with nothing to boot): its business.
            return $"restored, then the guest ended the process (exit {exitCode})";
        }

        Assert.True(exitCode == 1, $"{mutant}: exit code {exitCode}\n{dst.Diagnostics()}");
        string line = Assert.Single(stderr.Split('\n'));
        Assert.StartsWith("emu: ", line);
        Assert.DoesNotContain(line, char.IsControl);
        return $"refused: {line}";
    }

    /// <summary>query-migrate's status, or null while QMP is not up yet or the process is going away.</summary>
    private static string? TryStatus(EmuProcess dst)
    {
        try
        {
            using QmpClient qmp = dst.ConnectQmp(TimeSpan.FromSeconds(2));
            return MigrationPair.Status(qmp.Execute("query-migrate").AsObject());
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException or ObjectDisposedException)
        {
            return null;
        }
    }
}
