namespace Emu.Configuration;

/// <summary>
/// QEMU switches a stock script starts with, mapped onto what Emu is: <c>-accel tcg</c>, <c>-machine pc</c>,
/// <c>-cpu max</c>, <c>-nographic</c>, <c>-monitor</c>, <c>-serial mon:stdio</c>, <c>-pidfile</c>, and
/// <c>-chardev</c> with <c>-device isa-serial|isa-debugcon|isa-debug-exit</c>. Anything Emu cannot honestly be
/// (another accelerator, machine or CPU model, a device at another port) is refused with one line.
/// </summary>
internal sealed class QemuCompatSwitches
{
    private readonly Dictionary<string, string> _chardevs = new(StringComparer.Ordinal);
    private readonly List<(string Spec, string Driver, Dictionary<string, string> Props)> _devices = [];

    /// <summary>The CPU models Emu is: its own (a Pentium Pro with what it implements) and QEMU's "everything the accelerator has".</summary>
    public static readonly string[] CpuModels = ["max", "emu"];

    /// <summary>Handles one compatibility switch; false when <paramref name="name"/> is not one.</summary>
    public bool TryApply(string name, string? value, Dictionary<string, string?> values)
    {
        switch (name)
        {
            case "-accel":
                ApplyAccel(value!, values);
                return true;
            case "-machine" or "-M":
                CheckMachine(value!);
                return true;
            case "-cpu":
                if (!CpuModels.Contains(value))
                {
                    throw new ConfigurationException($"emu: option '-cpu': '{value}' is not a CPU Emu can be; it is a Pentium Pro with FPU, PSE, TSC, MSR, PAE, CX8, APIC and CMOV (use {string.Join(" or ", CpuModels)})");
                }

                return true;
            case "-s":
                // QEMU: shorthand for -gdb tcp::1234.
                values[nameof(EmuOptions.Gdb)] = "tcp::1234";
                return true;
            case "-nographic":
                values[nameof(EmuOptions.Display)] = "none";
                return true;
            case "-monitor":
                if (value is not ("none" or "stdio") && !Emu.Monitor.Server.QmpEndpoint.TryParse(value!, out _, out _))
                {
                    throw new ConfigurationException($"emu: option '-monitor': '{value}' is not supported (stdio, none, unix:PATH,server,wait=off or tcp:HOST:PORT,server,wait=off)");
                }

                values[nameof(EmuOptions.Monitor)] = value;
                return true;
            case "-rtc":
                values[nameof(EmuOptions.Rtc)] = ParseRtc(value!);
                return true;
            case "-pidfile":
                values[nameof(EmuOptions.PidFile)] = value;
                return true;
            case "-chardev":
                AddChardev(value!);
                return true;
            case "-device":
                AddDevice(value!);
                return true;
            default:
                return false;
        }
    }

    /// <summary>After every switch: each -device gets its -chardev's backend.</summary>
    public void Resolve(Dictionary<string, string?> values)
    {
        foreach ((string spec, string driver, Dictionary<string, string> props) in _devices)
        {
            string? backend = null;
            if (props.TryGetValue("chardev", out string? id) && !_chardevs.TryGetValue(id, out backend))
            {
                throw new ConfigurationException($"emu: option '-device {spec}': chardev '{id}' is not defined by a -chardev");
            }

            switch (driver)
            {
                case "isa-serial":
                    values[nameof(EmuOptions.Serial)] = backend ?? "none";
                    break;
                case "isa-debugcon":
                    values[nameof(EmuOptions.Debugcon)] = backend ?? "none";
                    if (props.TryGetValue("iobase", out string? iobase))
                    {
                        values[nameof(EmuOptions.DebugconPort)] = ParseNumber(iobase).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// QEMU's <c>-rtc base=utc|localtime|DATE[,clock=vm|host|rt][,driftfix=none|slew]</c>: the start the CMOS clock
    /// counts from, as an ISO date ("utc" and "localtime" resolve at start). Only the clock Emu has (vm) is accepted.
    /// </summary>
    private static string ParseRtc(string spec)
    {
        string start = "utc";
        foreach (string p in spec.Split(','))
        {
            int eq = p.IndexOf('=');
            string key = eq < 0 ? p : p[..eq], value = eq < 0 ? "" : p[(eq + 1)..];
            switch (key)
            {
                case "base" when value is "utc" or "localtime":
                    start = value;
                    break;
                case "base" when EmuOptions.TryParseRtcDate(value, out _):
                    start = value;
                    break;
                case "clock" when value == "vm":
                case "driftfix" when value is "none" or "slew":
                    break;
                default:
                    throw new ConfigurationException($"emu: option '-rtc': '{p}' is not supported (base=utc|localtime|YYYY-MM-DD[THH:MM:SS], clock=vm)");
            }
        }

        return start;
    }

    /// <summary><c>-accel tcg[,thread=…][,tb-size=…][,jit=on|off]</c>: jit=off turns tier 2 (the IL compiler) off.</summary>
    private static void ApplyAccel(string value, Dictionary<string, string?> values)
    {
        string[] parts = value.Split(',');
        if (parts[0] != "tcg")
        {
            throw new ConfigurationException($"emu: option '-accel': '{parts[0]}' is not available; Emu is its own accelerator (use tcg)");
        }

        foreach (string p in parts.Skip(1))
        {
            if (p is "jit=on" or "jit=off")
            {
                values[nameof(EmuOptions.Jit)] = p == "jit=on" ? "true" : "false";
            }
            else if (p is not ("thread=single" or "thread=multi") && !p.StartsWith("tb-size=", StringComparison.Ordinal))
            {
                throw new ConfigurationException($"emu: option '-accel': '{p}' is not supported (thread=single|multi, jit=on|off)");
            }
        }
    }

    private static void CheckMachine(string value)
    {
        string[] parts = value.Split(',');
        if (parts[0] is not ("pc" or "emu-pc"))
        {
            throw new ConfigurationException($"emu: option '-machine': '{parts[0]}' is not a machine Emu has (use pc)");
        }

        foreach (string p in parts.Skip(1))
        {
            if (p is not ("accel=tcg" or "usb=off" or "vmport=off" or "dump-guest-core=off"))
            {
                throw new ConfigurationException($"emu: option '-machine': '{p}' is not supported");
            }
        }
    }

    private void AddChardev(string spec)
    {
        Dictionary<string, string> props = Props(spec, out string backend, "-chardev");
        if (!props.TryGetValue("id", out string? id))
        {
            throw new ConfigurationException($"emu: option '-chardev {spec}': an id= is needed");
        }

        _chardevs[id] = backend switch
        {
            "stdio" => "stdio",
            "null" => "none",
            "file" when props.TryGetValue("path", out string? path) => $"file:{path}",
            "file" => throw new ConfigurationException($"emu: option '-chardev {spec}': file needs path="),
            _ => throw new ConfigurationException($"emu: option '-chardev {spec}': backend '{backend}' is not supported (stdio, file, null)"),
        };
    }

    private void AddDevice(string spec)
    {
        Dictionary<string, string> props = Props(spec, out string driver, "-device");
        switch (driver)
        {
            case "isa-debug-exit":
                RequireAt(spec, props, "iobase", 0x501, "isa-debug-exit");
                break;
            case "isa-debugcon":
                // Anywhere in the I/O space: SeaBIOS as Debian builds it logs to 0x402.
                if (props.TryGetValue("iobase", out string? iobase) && ParseNumber(iobase) is < 0 or > 0xFFFF)
                {
                    throw new ConfigurationException($"emu: option '-device {spec}': iobase '{iobase}' is not an I/O port (0 to 0xffff)");
                }

                break;
            case "isa-serial":
                if (props.TryGetValue("index", out string? index) && index != "0")
                {
                    throw new ConfigurationException($"emu: option '-device {spec}': Emu has one serial port (index=0, 0x3f8)");
                }

                break;
            default:
                throw new ConfigurationException($"emu: option '-device {spec}': device '{driver}' is not supported (isa-serial, isa-debugcon, isa-debug-exit)");
        }

        _devices.Add((spec, driver, props));
    }

    private static void RequireAt(string spec, Dictionary<string, string> props, string key, int port, string driver)
    {
        if (props.TryGetValue(key, out string? v) && ParseNumber(v) != port)
        {
            throw new ConfigurationException($"emu: option '-device {spec}': {driver} is at {key}=0x{port:x} on Emu's board");
        }
    }

    private static long ParseNumber(string v) =>
        v.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(v[2..], System.Globalization.NumberStyles.HexNumber, null, out long h) ? h
        : long.TryParse(v, out long d) ? d : -1;

    /// <summary>"driver,key=value,…" → the driver (or backend) and the properties.</summary>
    private static Dictionary<string, string> Props(string spec, out string first, string option)
    {
        string[] parts = spec.Split(',');
        first = parts[0];
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string p in parts.Skip(1))
        {
            int eq = p.IndexOf('=');
            if (eq <= 0)
            {
                throw new ConfigurationException($"emu: option '{option} {spec}': '{p}' is not key=value");
            }

            props[p[..eq]] = p[(eq + 1)..];
        }

        return props;
    }
}
