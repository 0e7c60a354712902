using System.Text.Json.Nodes;

namespace Emu.Monitor;

/// <summary>
/// A QMP command: takes the "arguments" object (empty when absent) and returns the "return" value (null means
/// <c>{}</c>). Refuse with <see cref="QmpException"/>.
/// </summary>
public delegate JsonNode? QmpHandler(JsonObject arguments);

/// <summary>The commands a QMP server answers, by QEMU name. Each subsystem adds its own.</summary>
public sealed class QmpCommandTable
{
    private readonly Dictionary<string, QmpHandler> _handlers = new(StringComparer.Ordinal);

    public IEnumerable<string> Names => _handlers.Keys;

    public void Add(string name, QmpHandler handler)
    {
        if (!_handlers.TryAdd(name, handler))
        {
            throw new InvalidOperationException($"qmp: command '{name}' is registered twice");
        }
    }

    public bool TryGet(string name, out QmpHandler handler) => _handlers.TryGetValue(name, out handler!);
}
