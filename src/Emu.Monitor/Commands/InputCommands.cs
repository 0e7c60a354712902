using System.Text.Json.Nodes;

namespace Emu.Monitor.Commands;

/// <summary>
/// QEMU's qmp_send_key: presses the keys in order, holds them <c>hold-time</c> ms (default 100), releases them in
/// reverse; keys are <c>{"type": "qcode", "data": "esc"}</c> or <c>{"type": "number", "data": 1}</c> (QEMU's key
/// numbers: the set 1 make code, plus 0x80 for an E0-prefixed key).
/// </summary>
public sealed class InputCommands
{
    private readonly Action<int, bool, bool> _keyEvent;

    private InputCommands(Action<int, bool, bool> keyEvent) => _keyEvent = keyEvent;

    public static void Register(QmpCommandTable table, MachineControl control)
    {
        if (control.KeyEvent is { } keyEvent)
        {
            table.Add("send-key", new InputCommands(keyEvent).SendKey);
        }
    }

    private JsonNode? SendKey(JsonObject arguments)
    {
        var a = new QmpArguments(arguments, "keys", "hold-time");
        JsonArray keys = a.GetOptionalArray("keys") ?? throw QmpException.Generic("Parameter 'keys' is missing");
        long holdMs = a.GetOptionalInt64("hold-time") ?? 100;
        var scancodes = new List<QKeyCode.Scancode>();
        foreach (JsonNode? key in keys)
        {
            scancodes.Add(Parse(key));
        }

        foreach (QKeyCode.Scancode s in scancodes)
        {
            _keyEvent(s.Code, s.Extended, true);
        }

        // Released later, off the monitor thread, as QEMU's timer does.
        _ = Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, holdMs))).ContinueWith(_ =>
        {
            for (int i = scancodes.Count - 1; i >= 0; i--)
            {
                _keyEvent(scancodes[i].Code, scancodes[i].Extended, false);
            }
        }, TaskScheduler.Default);
        return new JsonObject();
    }

    private static QKeyCode.Scancode Parse(JsonNode? key)
    {
        if (key is not JsonObject o || o["type"]?.GetValue<string>() is not { } type || o["data"] is not { } data)
        {
            throw QmpException.Generic("Invalid parameter type for 'keys', expected: KeyValue");
        }

        switch (type)
        {
            case "qcode":
                string name = data.GetValue<string>();
                return QKeyCode.TryGet(name, out QKeyCode.Scancode s) ? s : throw QmpException.Generic($"Parameter 'keys.data' does not accept value '{WireName(name)}'");
            case "number":
                int n = data.GetValue<int>();
                return n is > 0 and < 0x100 ? new QKeyCode.Scancode(n & 0x7F, (n & 0x80) != 0) : throw QmpException.Generic($"Parameter 'keys.data' does not accept value '{n}'");
            default:
                throw QmpException.Generic($"Parameter 'keys.type' does not accept value '{WireName(type)}'");
        }
    }

    private static string WireName(string s) => Emu.Migration.Stream.WireText.Printable(System.Text.Encoding.UTF8.GetBytes(s));
}
