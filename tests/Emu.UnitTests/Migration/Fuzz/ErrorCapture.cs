using Serilog.Core;
using Serilog.Events;

namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// A Serilog sink that keeps the last error event's text and exception: an internal error's one line names the
/// exception, the log event carries its stack, which a failure report needs.
/// </summary>
internal sealed class ErrorCapture : ILogEventSink
{
    private readonly object _lock = new();
    private string? _last;

    public string? Last
    {
        get
        {
            lock (_lock)
            {
                return _last;
            }
        }
    }

    public void Emit(LogEvent logEvent)
    {
        if (logEvent.Level < LogEventLevel.Error)
        {
            return;
        }

        lock (_lock)
        {
            _last = logEvent.RenderMessage() + (logEvent.Exception is { } e ? "\n" + e : "");
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _last = null;
        }
    }
}
