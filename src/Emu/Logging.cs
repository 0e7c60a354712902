using Serilog;
using Serilog.Events;

namespace Emu;

/// <summary>
/// Serilog setup: warnings and errors on stderr by default; -d LEVEL for more; --log-file for a full log. Both sinks
/// write from a background thread: a line logged inside a migration's pause (the switch's status changes, the run
/// state, the QMP events) costs the logging thread a queue entry, not a formatted write to a file and a terminal
/// (1–5 ms of the postcopy pause, measured). The queue blocks rather than drops when full, and
/// <see cref="Log.CloseAndFlush"/> at exit writes what is left.
/// </summary>
internal static class Logging
{
    public static void Configure(string level, string? logFile, string role)
    {
        LogEventLevel console = Parse(level);
        var config = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .Enrich.WithProperty("Role", role)
            .WriteTo.Async(
                sinks =>
                {
                    sinks.Console(
                        restrictedToMinimumLevel: console,
                        standardErrorFromLevel: LogEventLevel.Verbose,
                        outputTemplate: "emu {Level:u3} [{SourceContext}] {Message:lj}{NewLine}"); // stack traces go to --log-file only
                    if (logFile != null)
                    {
                        // Unbuffered: each event is written as the logging thread takes it, so a reader sees it at
                        // once. No periodic flush to disk: that fsyncs under the sink's lock.
                        sinks.File(
                            logFile,
                            restrictedToMinimumLevel: console < LogEventLevel.Debug ? console : LogEventLevel.Debug,
                            outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} [{SourceContext}] {Message:lj} {Properties}{NewLine}{Exception}");
                    }
                },
                bufferSize: 65536,
                blockWhenFull: true);

        Log.Logger = config.CreateLogger();
    }

    private static LogEventLevel Parse(string level) => level.ToLowerInvariant() switch
    {
        "verbose" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "information" or "info" => LogEventLevel.Information,
        "error" => LogEventLevel.Error,
        "fatal" => LogEventLevel.Fatal,
        _ => LogEventLevel.Warning,
    };
}
