using System.Text.Json.Nodes;

namespace Emu.Monitor;

/// <summary>
/// A QMP command: takes the "arguments" object (empty when absent) and returns the "return" value (null means
/// <c>{}</c>). Refuse with <see cref="QmpException"/>.
/// </summary>
public delegate JsonNode? QmpHandler(JsonObject arguments);

/// <summary>
/// The commands a QMP server answers, by QEMU name. Each subsystem adds its own. In-band commands run one at a
/// time across all clients (as QEMU runs them on its main loop); commands added with <c>allowOob</c> may also be
/// sent as <c>exec-oob</c> and then run at once on the client's thread (QEMU's QCO_ALLOW_OOB, e.g. migrate-recover).
/// </summary>
public sealed class QmpCommandTable
{
    private readonly Dictionary<string, QmpCommand> _commands = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly object _lock = new();

    /// <summary>Command names in registration order (query-commands).</summary>
    public IEnumerable<string> Names
    {
        get
        {
            lock (_lock)
            {
                return [.. _order];
            }
        }
    }

    public void Add(string name, QmpHandler handler, bool allowOob = false)
    {
        lock (_lock)
        {
            if (!_commands.TryAdd(name, new QmpCommand(handler, allowOob)))
            {
                throw new InvalidOperationException($"qmp: command '{name}' is registered twice");
            }

            _order.Add(name);
        }
    }

    public bool TryGet(string name, out QmpHandler handler)
    {
        bool found = TryGetCommand(name, out QmpCommand command);
        handler = command.Handler;
        return found;
    }

    internal bool TryGetCommand(string name, out QmpCommand command)
    {
        lock (_lock)
        {
            return _commands.TryGetValue(name, out command);
        }
    }
}
