using System.Text.Json;
using System.Text.Json.Nodes;
using Serilog;

namespace Emu.Monitor.Server;

/// <summary>
/// Turns one JSON text from a client into its response, as QEMU's monitor_qmp_dispatch and qmp_dispatch do:
/// syntax errors, the request shape, capabilities negotiation, then the command itself. In-band commands run
/// one at a time across every client (QEMU runs them on its main loop); out-of-band ones run at once.
/// </summary>
internal sealed class QmpDispatcher(QmpCommandTable commands)
{
    internal const string CapabilitiesCommand = "qmp_capabilities";
    internal const string OobCapability = "oob";

    private static readonly ILogger Log = Serilog.Log.ForContext<QmpDispatcher>();

    private static readonly JsonDocumentOptions ParseOptions = new()
    {
        AllowDuplicateProperties = false,
        MaxDepth = QmpJsonFramer.MaxNesting + 1,
    };

    private readonly object _inBandLock = new();

    /// <summary>The capabilities the greeting offers and qmp_capabilities may enable.</summary>
    public static JsonArray OfferedCapabilities() => [OobCapability];

    public QmpReply Dispatch(ReadOnlySpan<byte> text, string? framingError, QmpConnection client)
    {
        if (framingError != null)
        {
            return QmpReply.Error(null, QmpException.Generic(framingError));
        }

        JsonNode? request;
        try
        {
            request = JsonNode.Parse(text, documentOptions: ParseOptions);
        }
        catch (JsonException e)
        {
            return QmpReply.Error(null, QmpException.Generic("JSON parse error, " + OneLine(e.Message)));
        }

        if (request is not JsonObject obj)
        {
            return QmpReply.Error(null, QmpException.Generic("QMP input must be a JSON object"));
        }

        JsonNode? id = obj["id"]?.DeepClone();
        try
        {
            return Execute(obj, id, client);
        }
        catch (QmpException e)
        {
            Log.Debug("qmp: client {Client} request refused: {ErrorClass} {Desc}", client.Id, e.ErrorClass, e.Message);
            return QmpReply.Error(id, e);
        }
    }

    private QmpReply Execute(JsonObject request, JsonNode? id, QmpConnection client)
    {
        (string name, bool oob, JsonObject arguments) = CheckRequest(request, client.OobEnabled);
        Log.Debug("qmp: client {Client} executes {Command}", client.Id, name);

        if (name == CapabilitiesCommand)
        {
            if (client.Negotiated)
            {
                throw new QmpException("CommandNotFound", "Capabilities negotiation is already complete, command ignored");
            }

            bool enableOob = NegotiateCapabilities(arguments);
            return new QmpReply(Success(id, null), CompletesNegotiation: true, EnableOob: enableOob);
        }

        if (!client.Negotiated)
        {
            // monitor_qmp_dispatch replaces CommandNotFound with this hint while negotiating.
            throw new QmpException("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
        }

        if (!commands.TryGetCommand(name, out QmpCommand command))
        {
            throw new QmpException("CommandNotFound", $"The command {name} has not been found");
        }

        if (oob && !command.AllowOob)
        {
            throw QmpException.Generic($"The command {name} does not support OOB");
        }

        JsonNode? result;
        if (oob)
        {
            result = command.Handler(arguments);
        }
        else
        {
            lock (_inBandLock)
            {
                result = command.Handler(arguments);
            }
        }

        return new QmpReply(Success(id, result), CompletesNegotiation: false, EnableOob: false);
    }

    /// <summary>QEMU qmp_dispatch_check_obj: the members a request may have, and their types.</summary>
    private static (string Name, bool Oob, JsonObject Arguments) CheckRequest(JsonObject request, bool oobEnabled)
    {
        string? execute = null;
        string? execOob = null;
        JsonObject? arguments = null;
        foreach (KeyValuePair<string, JsonNode?> member in request)
        {
            switch (member.Key)
            {
                case "execute":
                    execute = member.Value?.GetValueKind() == JsonValueKind.String
                        ? member.Value.GetValue<string>()
                        : throw QmpException.Generic("QMP input member 'execute' must be a string");
                    break;
                case "exec-oob" when oobEnabled:
                    execOob = member.Value?.GetValueKind() == JsonValueKind.String
                        ? member.Value.GetValue<string>()
                        : throw QmpException.Generic("QMP input member 'exec-oob' must be a string");
                    break;
                case "arguments":
                    arguments = member.Value as JsonObject
                        ?? throw QmpException.Generic("QMP input member 'arguments' must be an object");
                    break;
                case "id":
                    break;
                default:
                    throw QmpException.Generic($"QMP input member '{member.Key}' is unexpected");
            }
        }

        if (execute != null && execOob != null)
        {
            throw QmpException.Generic("QMP input must not contain both 'execute' and 'exec-oob'");
        }

        string name = execute ?? execOob ?? throw QmpException.Generic("QMP input lacks member 'execute'");
        if (execOob != null && !request.ContainsKey("id"))
        {
            throw QmpException.Generic("Out-of-band command requires an 'id' member");
        }

        // Detach the arguments so the handler may keep or re-parent them.
        if (arguments != null)
        {
            request.Remove("arguments");
        }

        return (name, execOob != null, arguments ?? []);
    }

    /// <summary>QEMU qmp_qmp_capabilities: the optional "enable" list may only name offered capabilities.</summary>
    private static bool NegotiateCapabilities(JsonObject arguments)
    {
        var args = new QmpArguments(arguments, "enable");
        JsonArray? enable = args.GetOptionalArray("enable");
        bool oob = false;
        for (int i = 0; enable != null && i < enable.Count; i++)
        {
            JsonNode? item = enable[i];
            if (item?.GetValueKind() != JsonValueKind.String)
            {
                throw QmpException.Generic($"Parameter 'enable[{i}]' expects string");
            }

            string capability = item.GetValue<string>();
            oob |= capability == OobCapability
                ? true
                : throw QmpException.Generic($"Parameter 'enable[{i}]' does not accept value '{capability}'");
        }

        return oob;
    }

    private static JsonObject Success(JsonNode? id, JsonNode? result)
    {
        var response = new JsonObject { ["return"] = result ?? new JsonObject() };
        if (id != null)
        {
            response["id"] = id;
        }

        return response;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
