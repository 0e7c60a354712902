using System.Diagnostics;
using System.Text.RegularExpressions;
using Emu.Machine.Board;
using Emu.Migration.Precopy;
using Serilog;

namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// Feeds one mutant to a fresh destination the way <c>emu -S -incoming file:PATH</c> does (a new
/// <see cref="PcMachine"/> and its <see cref="MigrationController"/>), then judges the outcome: a clean refusal,
/// or a completed load whose guest then runs on this thread for a bounded number of instructions without a
/// host error. Anything else is a failure: an internal error, a load still running after
/// <see cref="LoadTimeout"/>, an error line that is not one printable line, an outcome that is neither, or more
/// than <see cref="MaxAllocatedBytes"/> allocated by the process during the load.
/// </summary>
internal sealed partial class MutantLoader
{
    public static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A normal load of the seed allocates a few MiB; a length trusted from the wire would take far more.</summary>
    public const long MaxAllocatedBytes = 256L << 20;

    /// <summary>The loaded guest's run: long enough to touch its devices (UART, its page loop).</summary>
    public const long GuestInstructions = 50_000;

    /// <summary>An error line's longest sensible length: the wire's names are cut at 64 characters.</summary>
    private const int MaxErrorLineLength = 600;

    private readonly ErrorCapture _errors = new();
    private readonly ILogger _log;
    private readonly byte[] _kernel;
    private readonly string _directory;

    public MutantLoader(byte[] kernel, string directory)
    {
        _kernel = kernel;
        _directory = directory;
        _log = new LoggerConfiguration().MinimumLevel.Error().WriteTo.Sink(_errors).CreateLogger();
    }

    public MutantOutcome Load(StreamMutant mutant)
    {
        string path = Path.Combine(_directory, "mutant.snapshot");
        File.WriteAllBytes(path, mutant.Bytes);
        _errors.Clear();
        using PcMachine machine = FuzzGuest.Build(_kernel);
        using var migration = new MigrationController(machine, (_, _) => { }, _log)
        {
            Autostart = false,
        };
        string? error = null;
        migration.IncomingFailed = e => error = e;
        long allocatedBefore = GC.GetTotalAllocatedBytes();
        var clock = Stopwatch.StartNew();
        try
        {
            migration.StartIncoming($"file:{path}");
            if (!migration.Incoming!.Join(LoadTimeout))
            {
                // Disposing the controller aborts the load; the machine goes after it.
                return Outcome(MutantVerdict.Failure, $"hang: the load still runs after {LoadTimeout.TotalSeconds:0} s", clock, allocatedBefore);
            }
        }
        catch (Exception e)
        {
            return Outcome(MutantVerdict.Failure, $"unhandled {e.GetType().Name} starting the load: {e}", clock, allocatedBefore);
        }

        MutantOutcome loaded = Outcome(MutantVerdict.Loaded, "", clock, allocatedBefore);
        if (loaded.AllocatedBytes > MaxAllocatedBytes)
        {
            return loaded with { Verdict = MutantVerdict.Failure, Detail = $"allocated {loaded.AllocatedBytes >> 20} MiB during the load (at most {MaxAllocatedBytes >> 20}); error: {error}" };
        }

        MigrationStatus status = migration.IncomingStatus;
        if (status == MigrationStatus.Failed && error != null)
        {
            return loaded with { Verdict = CleanErrorLine(error) ? MutantVerdict.Refused : MutantVerdict.Failure, Detail = error + Captured() };
        }

        if (status != MigrationStatus.Completed || error != null)
        {
            return loaded with { Verdict = MutantVerdict.Failure, Detail = $"the load ended {status.ToQmp()} with error '{error}'{Captured()}" };
        }

        try
        {
            machine.Cpu.Run(GuestInstructions);
        }
        catch (Exception e)
        {
            return loaded with { Verdict = MutantVerdict.Failure, Detail = $"the loaded guest made the host throw: {e}" };
        }

        return loaded;
    }

    /// <summary>One line, printable, prefixed by its subsystem, and not an internal error.</summary>
    internal static bool CleanErrorLine(string line) =>
        line.Length <= MaxErrorLineLength
        && !line.Any(c => char.IsControl(c))
        && ErrorLinePrefix().IsMatch(line)
        && !line.Contains("internal error", StringComparison.Ordinal);

    private string Captured() => _errors.Last is { } logged ? $"\nlog: {logged}" : "";

    private static MutantOutcome Outcome(MutantVerdict verdict, string detail, Stopwatch clock, long allocatedBefore) =>
        new(verdict, detail, clock.Elapsed, GC.GetTotalAllocatedBytes() - allocatedBefore);

    [GeneratedRegex(@"^[a-z][a-z0-9-]*: \S")]
    private static partial Regex ErrorLinePrefix();
}
