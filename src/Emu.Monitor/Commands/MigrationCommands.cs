using System.Text.Json;
using System.Text.Json.Nodes;
using Emu.Migration;
using Emu.Migration.Precopy;

namespace Emu.Monitor.Commands;

/// <summary>
/// QMP's migration commands, names and argument shapes as QEMU's (qapi/migration.json): migrate,
/// migrate-incoming, migrate_cancel, migrate-continue, query-migrate, migrate-set-capabilities,
/// query-migrate-capabilities, migrate-set-parameters, query-migrate-parameters, migrate-start-postcopy,
/// migrate-pause and migrate-recover (the last two also out-of-band, as QEMU's). Refusals are GenericError
/// with QEMU's desc.
/// </summary>
public static class MigrationCommands
{
    public static void Register(QmpCommandTable table, MigrationController mig)
    {
        table.Add("migrate", args => Run(() => mig.StartOutgoing(RequiredString(args, "uri"), OptionalBool(args, "resume"))));
        table.Add("migrate-incoming", args => Run(() => mig.MigrateIncoming(RequiredString(args, "uri"))));
        table.Add("migrate_cancel", _ => Run(mig.Cancel));
        table.Add("migrate-continue", args => Run(() => mig.Continue(RequiredString(args, "state"))));
        table.Add("query-migrate", _ => mig.QueryMigrate());
        table.Add("migrate-set-capabilities", args => Run(() => mig.SetCapabilities(Capabilities(args))));
        table.Add("query-migrate-capabilities", _ => mig.QueryCapabilities());
        table.Add("migrate-set-parameters", args => Run(() => mig.SetParameters(args)));
        table.Add("query-migrate-parameters", _ => mig.QueryParameters());
        table.Add("migrate-start-postcopy", _ => Run(mig.StartPostcopy));
        table.Add("migrate-pause", _ => Run(mig.Pause), allowOob: true);
        table.Add("migrate-recover", args => Run(() => mig.Recover(RequiredString(args, "uri"))), allowOob: true);
        MigrationReportCommand.Register(table, mig);
    }

    /// <summary>Runs a migration entry point; its <see cref="MigrationException"/> becomes a GenericError.</summary>
    internal static JsonNode? Run(Action action)
    {
        try
        {
            action();
        }
        catch (MigrationException e)
        {
            throw QmpException.Generic(e.Message);
        }

        return null;
    }

    private static string RequiredString(JsonObject args, string name)
    {
        if (!args.TryGetPropertyValue(name, out JsonNode? node) || node == null)
        {
            throw QmpException.Generic($"Parameter '{name}' is missing");
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            return v.GetValue<string>();
        }

        throw QmpException.Generic($"Invalid parameter type for '{name}', expected: string");
    }

    private static bool OptionalBool(JsonObject args, string name)
    {
        if (!args.TryGetPropertyValue(name, out JsonNode? node) || node == null)
        {
            return false;
        }

        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return v.GetValue<bool>();
        }

        throw QmpException.Generic($"Invalid parameter type for '{name}', expected: boolean");
    }

    /// <summary>{"capabilities": [{"capability": name, "state": bool}, …]}.</summary>
    private static List<(string, bool)> Capabilities(JsonObject args)
    {
        if (!args.TryGetPropertyValue("capabilities", out JsonNode? node) || node == null)
        {
            throw QmpException.Generic("Parameter 'capabilities' is missing");
        }

        if (node is not JsonArray list)
        {
            throw QmpException.Generic("Invalid parameter type for 'capabilities', expected: array");
        }

        var result = new List<(string, bool)>(list.Count);
        foreach (JsonNode? item in list)
        {
            if (item is not JsonObject o)
            {
                throw QmpException.Generic("Invalid parameter type for 'capabilities[]', expected: object");
            }

            result.Add((RequiredString(o, "capability"), RequiredBool(o, "state")));
        }

        return result;
    }

    private static bool RequiredBool(JsonObject o, string name)
    {
        if (!o.ContainsKey(name))
        {
            throw QmpException.Generic($"Parameter '{name}' is missing");
        }

        return OptionalBool(o, name);
    }
}
