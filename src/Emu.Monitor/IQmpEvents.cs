using System.Text.Json.Nodes;

namespace Emu.Monitor;

/// <summary>
/// Sends a QMP event to every connected client that has finished capabilities negotiation:
/// <c>{"event": name, "data": data, "timestamp": {"seconds", "microseconds"}}</c>.
/// </summary>
public interface IQmpEvents
{
    void Emit(string name, JsonObject? data = null);
}
