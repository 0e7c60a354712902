using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emu.Monitor;

/// <summary>
/// Typed access to a command's "arguments" object, refusing what QEMU's qobject input visitor refuses, with
/// its wording: a member the command does not take ("Parameter 'x' is unexpected"), a missing one
/// ("Parameter 'x' is missing"), a wrong JSON type ("Parameter 'x' expects integer").
/// </summary>
public sealed class QmpArguments
{
    private readonly JsonObject _arguments;
    private readonly string[] _accepted;

    /// <summary>Checks at once that <paramref name="arguments"/> holds no member outside <paramref name="accepted"/>.</summary>
    public QmpArguments(JsonObject arguments, params string[] accepted)
    {
        _arguments = arguments;
        _accepted = accepted;
        foreach (KeyValuePair<string, JsonNode?> member in arguments)
        {
            if (Array.IndexOf(accepted, member.Key) < 0)
            {
                throw QmpException.Generic($"Parameter '{member.Key}' is unexpected");
            }
        }
    }

    public bool Has(string name) => Find(name) != null;

    public string GetString(string name) => GetOptionalString(name) ?? throw Missing(name);

    public string? GetOptionalString(string name)
    {
        JsonNode? node = Find(name);
        if (node == null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : throw Expects(name, "string");
    }

    public long GetInt64(string name) => GetOptionalInt64(name) ?? throw Missing(name);

    public long? GetOptionalInt64(string name)
    {
        JsonNode? node = Find(name);
        if (node == null)
        {
            return null;
        }

        return node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long x) ? x : throw Expects(name, "integer");
    }

    /// <summary>A QAPI 'uint64' (or an 'int' that must not be negative, such as an address).</summary>
    public ulong GetUInt64(string name) => GetOptionalUInt64(name) ?? throw Missing(name);

    public ulong? GetOptionalUInt64(string name)
    {
        JsonNode? node = Find(name);
        if (node == null)
        {
            return null;
        }

        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            throw Expects(name, "integer");
        }

        if (v.TryGetValue(out ulong u))
        {
            return u;
        }

        throw v.TryGetValue(out long _) ? Expects(name, "uint64") : Expects(name, "integer");
    }

    public bool GetBool(string name) => GetOptionalBool(name) ?? throw Missing(name);

    public bool? GetOptionalBool(string name)
    {
        JsonNode? node = Find(name);
        if (node == null)
        {
            return null;
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Expects(name, "boolean"),
        };
    }

    /// <summary>A QAPI enum member, by its wire name; <paramref name="parse"/> maps a name or returns false.</summary>
    public TEnum? GetOptionalEnum<TEnum>(string name, TryParseEnum<TEnum> parse)
        where TEnum : struct, Enum
    {
        string? text = GetOptionalString(name);
        if (text == null)
        {
            return null;
        }

        return parse(text, out TEnum value) ? value : throw QmpException.Generic($"Parameter '{name}' does not accept value '{text}'");
    }

    public JsonArray? GetOptionalArray(string name)
    {
        JsonNode? node = Find(name);
        return node == null ? null : node as JsonArray ?? throw Expects(name, "array");
    }

    public JsonObject? GetOptionalObject(string name)
    {
        JsonNode? node = Find(name);
        return node == null ? null : node as JsonObject ?? throw Expects(name, "object");
    }

    public delegate bool TryParseEnum<TEnum>(string name, out TEnum value);

    private JsonNode? Find(string name)
    {
        if (Array.IndexOf(_accepted, name) < 0)
        {
            throw new InvalidOperationException($"qmp: argument '{name}' is read but was not declared as accepted");
        }

        // A JSON null counts as absent, as QEMU's input visitor treats an optional member set to null.
        return _arguments.TryGetPropertyValue(name, out JsonNode? node) ? node : null;
    }

    private static QmpException Missing(string name) => QmpException.Generic($"Parameter '{name}' is missing");

    private static QmpException Expects(string name, string type) => QmpException.Generic($"Parameter '{name}' expects {type}");
}
