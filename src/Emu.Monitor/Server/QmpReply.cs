using System.Text.Json.Nodes;

namespace Emu.Monitor.Server;

/// <summary>A response to send, and whether it ends capabilities negotiation for its client.</summary>
internal readonly record struct QmpReply(JsonObject Response, bool CompletesNegotiation, bool EnableOob)
{
    /// <summary>QEMU's error response: <c>{"error": {"class", "desc"}, "id"}</c> (no id when the request had none).</summary>
    public static QmpReply Error(JsonNode? id, QmpException e)
    {
        var response = new JsonObject { ["error"] = new JsonObject { ["class"] = e.ErrorClass, ["desc"] = e.Message } };
        if (id != null)
        {
            response["id"] = id;
        }

        return new QmpReply(response, CompletesNegotiation: false, EnableOob: false);
    }
}
