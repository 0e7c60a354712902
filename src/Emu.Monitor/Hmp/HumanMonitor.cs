using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Emu.Machine.Memory;
using Emu.Monitor.Commands;

namespace Emu.Monitor.Hmp;

/// <summary>
/// QEMU's human monitor, the subset a guest author reaches for, behind QMP's <c>human-monitor-command</c>:
/// <c>info status|registers|migrate|migrate_parameters|mtree</c>, <c>x</c>/<c>xp</c> memory dumps,
/// <c>stop</c>, <c>cont</c>, <c>system_reset</c> and <c>migrate URI</c>. Commands that act go through the QMP
/// command table, so they behave exactly as their QMP forms; the output follows QEMU's HMP text.
/// </summary>
public sealed class HumanMonitor(QmpCommandTable table, AddressSpace memory, MachineControl control)
{
    public static HumanMonitor Register(QmpCommandTable table, AddressSpace memory, MachineControl control)
    {
        var hmp = new HumanMonitor(table, memory, control);
        table.Add("human-monitor-command", hmp.HumanMonitorCommand);
        return hmp;
    }

    /// <summary>
    /// QEMU's <c>-monitor stdio</c>: the banner, then a <c>(qemu) </c> prompt per command read from
    /// <paramref name="input"/> until it ends.
    /// </summary>
    public void Serve(TextReader input, TextWriter output)
    {
        output.Write("QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ");
        output.Flush();
        while (input.ReadLine() is { } line)
        {
            output.Write(Execute(line));
            output.Write("(qemu) ");
            output.Flush();
        }
    }

    private JsonNode? HumanMonitorCommand(JsonObject arguments)
    {
        var args = new QmpArguments(arguments, "command-line", "cpu-index");
        long? cpu = args.GetOptionalInt64("cpu-index");
        if (cpu is not (null or 0))
        {
            throw QmpException.Generic($"CPU {cpu} is not present");
        }

        return Execute(args.GetString("command-line"));
    }

    /// <summary>Runs one HMP command line; returns its output (empty for commands that print nothing).</summary>
    public string Execute(string line)
    {
        string[] words = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return "";
        }

        try
        {
            return words[0] switch
            {
                "info" when words.Length >= 2 => Info(words[1]),
                "info" => "info: a subcommand is needed (status, registers, migrate, migrate_parameters, mtree)\r\n",
                "x" or "xp" => Examine(words, physical: words[0] == "xp"),
                "stop" or "s" => Qmp("stop"),
                "cont" or "c" => Qmp("cont"),
                "system_reset" => Qmp("system_reset"),
                "migrate" when words.Length >= 2 => Qmp("migrate", new JsonObject { ["uri"] = words[^1] }),
                _ => $"unknown command: '{words[0]}'\r\n",
            };
        }
        catch (QmpException e)
        {
            // HMP prints a command's error where QMP would return it.
            return $"Error: {e.Message}\r\n";
        }
    }

    private string Info(string what) => what switch
    {
        "status" => InfoStatus(),
        "registers" => (control.RegisterDump ?? throw QmpException.Generic("no CPU to dump"))().Replace("\n", "\r\n", StringComparison.Ordinal),
        "migrate" => InfoMigrate(),
        "migrate_parameters" => InfoMigrateParameters(),
        "mtree" => InfoMtree(),
        _ => $"info: unknown subcommand '{what}' (status, registers, migrate, migrate_parameters, mtree)\r\n",
    };

    private string Qmp(string command, JsonObject? arguments = null)
    {
        if (!table.TryGet(command, out QmpHandler handler))
        {
            return $"unknown command: '{command}'\r\n";
        }

        handler(arguments ?? new JsonObject());
        return "";
    }

    private JsonNode? Query(string command) => table.TryGet(command, out QmpHandler handler) ? handler(new JsonObject()) : null;

    /// <summary>QEMU hmp_info_status: "VM status: running", or "paused (REASON)" for any other state.</summary>
    private string InfoStatus()
    {
        JsonNode? s = Query("query-status");
        bool running = s?["running"]?.GetValue<bool>() ?? false;
        string status = s?["status"]?.GetValue<string>() ?? "unknown";
        return running ? "VM status: running\r\n" : status == "paused" ? "VM status: paused\r\n" : $"VM status: paused ({status})\r\n";
    }

    /// <summary>QEMU hmp_info_migrate: status, then the RAM and time figures query-migrate reports.</summary>
    private string InfoMigrate()
    {
        var b = new StringBuilder();
        JsonNode? info = Query("query-migrate");
        if (info?["status"] is { } status)
        {
            b.Append(CultureInfo.InvariantCulture, $"Migration status: {status.GetValue<string>()}\r\n");
            foreach (string key in new[] { "total-time", "expected-downtime", "downtime", "setup-time" })
            {
                if (info[key] is { } v)
                {
                    b.Append(CultureInfo.InvariantCulture, $"{key.Replace('-', ' ')}: {v} ms\r\n");
                }
            }

            if (info["ram"] is JsonObject ram)
            {
                AppendRam(b, ram, "transferred", "transferred ram", 1024, "kbytes");
                AppendRam(b, ram, "remaining", "remaining ram", 1024, "kbytes");
                AppendRam(b, ram, "total", "total ram", 1024, "kbytes");
                AppendRam(b, ram, "duplicate", "duplicate", 1, "pages");
                AppendRam(b, ram, "normal", "normal", 1, "pages");
                AppendRam(b, ram, "dirty-sync-count", "dirty sync count", 1, "");
                AppendRam(b, ram, "dirty-pages-rate", "dirty pages rate", 1, "pages");
                AppendRam(b, ram, "mbps", "throughput", 1, "mbps");
            }
        }

        return b.ToString();
    }

    private static void AppendRam(StringBuilder b, JsonObject ram, string key, string label, long divisor, string unit)
    {
        if (ram[key] is JsonValue v && v.TryGetValue(out double d))
        {
            string value = divisor == 1 ? v.ToString() : ((long)d / divisor).ToString(CultureInfo.InvariantCulture);
            b.Append(CultureInfo.InvariantCulture, $"{label}: {value}{(unit.Length > 0 ? " " + unit : "")}\r\n");
        }
    }

    /// <summary>QEMU hmp_info_migrate_parameters: one "name: value" line per parameter.</summary>
    private string InfoMigrateParameters()
    {
        var b = new StringBuilder();
        if (Query("query-migrate-parameters") is JsonObject parameters)
        {
            foreach ((string key, JsonNode? value) in parameters)
            {
                b.Append(CultureInfo.InvariantCulture, $"{key}: {value?.ToString() ?? ""}\r\n");
            }
        }

        return b.ToString();
    }

    /// <summary>QEMU's info mtree, flattened: the system address space's regions in address order.</summary>
    private string InfoMtree()
    {
        var b = new StringBuilder("address-space: memory\r\n");
        foreach (MemoryRegion r in memory.Regions.OrderBy(r => r.Gpa))
        {
            b.Append(CultureInfo.InvariantCulture, $"  {r.Gpa:x16}-{r.Gpa + r.Size - 1:x16} (prio {r.Priority}, {r.Kind.ToString().ToLowerInvariant()}): {r.Name}\r\n");
        }

        return b.ToString();
    }

    /// <summary>
    /// QEMU's <c>x /NFU ADDR</c> (linear) and <c>xp</c> (physical): N units of U (b, h, w, g; default w) in format
    /// F (x, d, u, c; default x), four words to a line, each line led by its address.
    /// </summary>
    private string Examine(string[] words, bool physical)
    {
        int count = 1, unit = 4;
        char format = 'x';
        int at = 1;
        if (words.Length > 1 && words[1].StartsWith('/'))
        {
            string spec = words[1][1..];
            int digits = 0;
            while (digits < spec.Length && char.IsAsciiDigit(spec[digits]))
            {
                digits++;
            }

            if (digits > 0)
            {
                count = int.Parse(spec[..digits], CultureInfo.InvariantCulture);
            }

            foreach (char c in spec[digits..])
            {
                switch (c)
                {
                    case 'b': unit = 1; break;
                    case 'h': unit = 2; break;
                    case 'w': unit = 4; break;
                    case 'g': unit = 8; break;
                    case 'x' or 'd' or 'u' or 'c': format = c; break;
                    default: return $"invalid char '{c}' in format\r\n";
                }
            }

            at = 2;
        }

        if (words.Length <= at || !TryParseAddress(words[at], out ulong address))
        {
            return "x/xp: an address is needed (e.g. x /4x 0x100000)\r\n";
        }

        var b = new StringBuilder();
        int perLine = unit == 8 ? 2 : unit == 1 && format == 'c' ? 16 : 4;
        for (int i = 0; i < count; i++)
        {
            ulong addr = address + (ulong)(i * unit);
            if (i % perLine == 0)
            {
                b.Append(i == 0 ? "" : "\r\n").Append(CultureInfo.InvariantCulture, $"{addr:x16}:");
            }

            ulong? gpa = physical ? addr : control.TranslateLinear?.Invoke((uint)addr) ?? addr;
            if (gpa == null)
            {
                b.Append(" Cannot access memory");
                break;
            }

            ulong v = memory.Read(gpa.Value, unit);
            b.Append(' ').Append(format switch
            {
                'd' => unit switch { 1 => ((sbyte)v).ToString(CultureInfo.InvariantCulture), 2 => ((short)v).ToString(CultureInfo.InvariantCulture), 4 => ((int)v).ToString(CultureInfo.InvariantCulture), _ => ((long)v).ToString(CultureInfo.InvariantCulture) },
                'u' => v.ToString(CultureInfo.InvariantCulture),
                'c' => v is >= 0x20 and < 0x7F ? $"'{(char)v}'" : $"'\\x{v:x2}'",
                _ => "0x" + v.ToString("x" + (unit * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            });
        }

        return b.Append("\r\n").ToString();
    }

    private static bool TryParseAddress(string text, out ulong address) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out address)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out address);
}
