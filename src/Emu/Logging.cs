using Serilog;
using Serilog.Events;

namespace Emu;

/// <summary>Serilog setup: warnings and errors on stderr by default; -d LEVEL for more; --log-file for a full log.</summary>
internal static class Logging
{
    public static void Configure(string level, string? logFile, string role)
    {
        LogEventLevel console = Parse(level);
        var config = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .Enrich.WithProperty("Role", role)
            .WriteTo.Console(
                restrictedToMinimumLevel: console,
                standardErrorFromLevel: LogEventLevel.Verbose,
                outputTemplate: "emu {Level:u3} [{SourceContext}] {Message:lj}{NewLine}"); // stack traces go to --log-file only
        if (logFile != null)
        {
            // Unbuffered: each event is written as it happens, so a reader sees it at once. No periodic flush to
            // disk: that fsyncs under the sink's lock, and a busy disk would stall every thread that logs meanwhile.
            config = config.WriteTo.File(
                logFile,
                restrictedToMinimumLevel: console < LogEventLevel.Debug ? console : LogEventLevel.Debug,
                outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} [{SourceContext}] {Message:lj} {Properties}{NewLine}{Exception}");
        }

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
