using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emu.Monitor.Server;

/// <summary>
/// Writes a QMP message the way QEMU's qobject_to_json does: one line, <c>", "</c> and <c>": "</c> separators,
/// terminated by CRLF (monitor_puts turns the newline into "\r\n").
/// </summary>
internal static class QmpJsonWriter
{
    private static readonly JsonSerializerOptions LeafOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] ToLine(JsonNode message)
    {
        var sb = new StringBuilder(128);
        Append(sb, message);
        sb.Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static void Append(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                sb.Append('{');
                bool firstMember = true;
                foreach (KeyValuePair<string, JsonNode?> member in obj)
                {
                    if (!firstMember)
                    {
                        sb.Append(", ");
                    }

                    firstMember = false;
                    sb.Append(JsonSerializer.Serialize(member.Key, LeafOptions)).Append(": ");
                    Append(sb, member.Value);
                }

                sb.Append('}');
                break;
            case JsonArray array:
                sb.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    Append(sb, array[i]);
                }

                sb.Append(']');
                break;
            default:
                sb.Append(node.ToJsonString(LeafOptions));
                break;
        }
    }
}
