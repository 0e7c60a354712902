namespace Emu.Configuration;

/// <summary>
/// QEMU-style switches (<c>-m 128M -kernel FILE -serial stdio …</c>) turned into configuration keys of
/// <see cref="EmuOptions"/>. Unknown switches, missing values and malformed values are refused with one line.
/// </summary>
public static class CommandLine
{
    /// <summary>Switch → (configuration key, takes a value).</summary>
    private static readonly Dictionary<string, (string Key, bool HasValue)> Switches = new(StringComparer.Ordinal)
    {
        ["-m"] = (nameof(EmuOptions.Memory), true),
        ["-kernel"] = (nameof(EmuOptions.Kernel), true),
        ["-append"] = (nameof(EmuOptions.Append), true),
        ["-initrd"] = (nameof(EmuOptions.Initrd), true),
        ["-bios"] = (nameof(EmuOptions.Bios), true),
        ["-drive"] = (nameof(EmuOptions.Drive), true),
        ["-boot"] = (nameof(EmuOptions.Boot), true),
        ["-serial"] = (nameof(EmuOptions.Serial), true),
        ["-debugcon"] = (nameof(EmuOptions.Debugcon), true),
        ["-display"] = (nameof(EmuOptions.Display), true),
        ["-qmp"] = (nameof(EmuOptions.Qmp), true),
        ["-incoming"] = (nameof(EmuOptions.Incoming), true),
        ["-no-reboot"] = (nameof(EmuOptions.NoReboot), false),
        ["-mem-prealloc"] = (nameof(EmuOptions.MemPrealloc), false),
        ["-S"] = (nameof(EmuOptions.StartPaused), false),
        ["-smp"] = (nameof(EmuOptions.Smp), true),
        ["-name"] = (nameof(EmuOptions.Name), true),
        ["-d"] = (nameof(EmuOptions.LogLevel), true),
        ["-D"] = (nameof(EmuOptions.TraceFile), true),
        ["-gdb"] = (nameof(EmuOptions.Gdb), true),
        ["-s"] = ("", false),
        ["-accel"] = ("", true),
        ["-machine"] = ("", true),
        ["-M"] = ("", true),
        ["-cpu"] = ("", true),
        ["-nographic"] = ("", false),
        ["-monitor"] = ("", true),
        ["-pidfile"] = ("", true),
        ["-rtc"] = ("", true),
        ["-daemonize"] = (nameof(EmuOptions.Daemonize), false),
        ["-chardev"] = ("", true),
        ["-device"] = ("", true),
        ["--log-file"] = (nameof(EmuOptions.LogFile), true),
    };

    public static IEnumerable<string> Known => Switches.Keys;

    /// <summary>Parses argv into configuration key/value pairs (list keys as "Qmp:0", "Qmp:1").</summary>
    public static Dictionary<string, string?> Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var compat = new QemuCompatSwitches();
        int qmpCount = 0;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string name = arg.StartsWith("--", StringComparison.Ordinal) && arg != "--log-file" ? arg[1..] : arg;
            if (!Switches.TryGetValue(name, out var sw))
            {
                throw new ConfigurationException($"emu: unknown option '{arg}' (see README.md for the command line)");
            }

            if (!sw.HasValue)
            {
                if (!compat.TryApply(name, null, values))
                {
                    values[sw.Key] = "true";
                }

                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new ConfigurationException($"emu: option '{arg}' needs a value");
            }

            string value = args[++i];
            if (compat.TryApply(name, value, values))
            {
                continue;
            }

            switch (name)
            {
                case "-d" when !IsLogLevel(value):
                    // QEMU's -d: trace items (int,cpu_reset,guest_errors,unimp,in_asm,exec); a level name sets the console log.
                    values[nameof(EmuOptions.Trace)] = value;
                    break;
                case "-serial" when value == "mon:stdio":
                    // QEMU multiplexes its monitor here behind Ctrl-A c; Emu's serial takes the whole of stdio.
                    values[sw.Key] = "stdio";
                    break;
                case "-qmp":
                    values[$"{sw.Key}:{qmpCount++}"] = value;
                    break;
                case "-drive":
                    values[sw.Key] = ParseDrive(value);
                    break;
                case "-boot":
                    values[sw.Key] = value.StartsWith("order=", StringComparison.Ordinal) ? value[6..] : value;
                    break;
                default:
                    values[sw.Key] = value;
                    break;
            }
        }

        compat.Resolve(values);
        return values;
    }

    /// <summary>Checks the bound options once: sizes, enumerations and the endpoints' shapes.</summary>
    public static void Validate(EmuOptions o)
    {
        _ = o.RamSizeBytes;
        CheckChardev(o.Serial, "-serial");
        CheckChardev(o.Debugcon, "-debugcon");
        if (o.Display is not ("none" or "sdl"))
        {
            throw new ConfigurationException($"emu: option '-display': '{o.Display}' is not supported (use none or sdl)");
        }

        _ = BootOptions.Parse(o.Boot);

        if (o.Smp != 1)
        {
            throw new ConfigurationException($"emu: option '-smp': {o.Smp} vCPUs requested, this machine has exactly 1");
        }

        if (o.JitThreshold < 0)
        {
            throw new ConfigurationException($"emu: EMU_JitThreshold: {o.JitThreshold} is negative (whole tier 1 runs before tier 2 compiles a block)");
        }

        if (o.Trace != null && Emu.Machine.Diagnostics.GuestTrace.Parse(o.Trace, out string traceError) == null)
        {
            throw new ConfigurationException($"emu: option '-d': {traceError}");
        }

        if (!IsLogLevel(o.LogLevel))
        {
            throw new ConfigurationException($"emu: option '-d': unknown log level '{o.LogLevel}' (verbose, debug, info, warning, error)");
        }

        if (o.Kernel != null && o.Bios != null)
        {
            throw new ConfigurationException("emu: options '-kernel' and '-bios' cannot be combined (a -kernel image starts without firmware)");
        }

        if (o.Daemonize && (o.Monitor == "stdio" || o.Debugcon == "stdio"))
        {
            throw new ConfigurationException("emu: option '-daemonize': stdio cannot be used by a daemon (-monitor/-debugcon stdio)");
        }

        if (o.Monitor == "stdio" && o.Serial == "stdio")
        {
            throw new ConfigurationException("emu: option '-monitor stdio': stdio is taken by -serial stdio (give -serial file:PATH or none, or use QMP)");
        }

        if (o.Initrd != null && o.Kernel == null)
        {
            throw new ConfigurationException("emu: option '-initrd' needs a Linux kernel (-kernel bzImage)");
        }

        // -incoming is parsed where it is used (MigrationUri), which names what is wrong with it; QEMU exits 1 there.
    }

    private static bool IsLogLevel(string value) =>
        value.ToLowerInvariant() is "verbose" or "debug" or "information" or "info" or "warning" or "error" or "fatal";

    private static void CheckChardev(string spec, string option)
    {
        if (spec is "stdio" or "none" || (spec.StartsWith("file:", StringComparison.Ordinal) && spec.Length > 5))
        {
            return;
        }

        throw new ConfigurationException($"emu: option '{option}': '{spec}' is not stdio, file:PATH or none");
    }

    private static string ParseDrive(string spec)
    {
        string? file = null;
        foreach (string part in spec.Split(','))
        {
            int eq = part.IndexOf('=');
            string key = eq < 0 ? part : part[..eq];
            string val = eq < 0 ? "" : part[(eq + 1)..];
            switch (key)
            {
                case "file":
                    file = val;
                    break;
                case "format" when val == "raw":
                case "if" when val == "ide":
                case "index" or "media" when val is "0" or "disk":
                    break;
                default:
                    throw new ConfigurationException($"emu: option '-drive': '{part}' is not supported (use file=PATH,format=raw)");
            }
        }

        return file is { Length: > 0 } ? file : throw new ConfigurationException("emu: option '-drive': file=PATH is missing");
    }
}
