namespace Emu.Configuration;

/// <summary>
/// QEMU's <c>-boot</c>: the legacy drive letters (<c>-boot c</c>) or <c>order=…,once=…,menu=on|off,
/// splash-time=MS,reboot-timeout=MS,strict=on|off</c>. The firmware gets them through fw_cfg.
/// </summary>
public sealed record BootOptions(string Order, bool Menu, int? MenuWaitMs, int RebootTimeoutMs)
{
    public static BootOptions Default { get; } = new("c", false, null, -1);

    public char FirstDevice => Order[0];

    public static BootOptions Parse(string spec)
    {
        if (!spec.Contains('='))
        {
            return Default with { Order = CheckOrder(spec, spec) };
        }

        BootOptions b = Default;
        foreach (string part in spec.Split(','))
        {
            int eq = part.IndexOf('=');
            string key = eq < 0 ? part : part[..eq], value = eq < 0 ? "" : part[(eq + 1)..];
            b = key switch
            {
                "order" or "once" => b with { Order = CheckOrder(spec, value) },
                "menu" => b with { Menu = OnOff(spec, key, value) },
                "splash-time" => b with { MenuWaitMs = Milliseconds(spec, key, value, 0) },
                "reboot-timeout" => b with { RebootTimeoutMs = Milliseconds(spec, key, value, -1) },
                "strict" => Accepted(b, OnOff(spec, key, value)),
                _ => throw new ConfigurationException($"emu: option '-boot {spec}': '{key}' is not a -boot property (order, once, menu, splash-time, reboot-timeout, strict)"),
            };
        }

        return b;
    }

    /// <summary>A property Emu's firmware interface has no use for, checked and then left out (strict boot order).</summary>
    private static BootOptions Accepted(BootOptions b, bool checkedValue)
    {
        _ = checkedValue;
        return b;
    }

    private static string CheckOrder(string spec, string order) =>
        order.Length > 0 && order.All(c => c is 'a' or 'c' or 'd' or 'n')
            ? order
            : throw new ConfigurationException($"emu: option '-boot': '{spec}' is not a boot order of a, c, d, n");

    private static bool OnOff(string spec, string key, string value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new ConfigurationException($"emu: option '-boot {spec}': {key} must be on or off, not '{value}'"),
    };

    private static int Milliseconds(string spec, string key, string value, int min) =>
        int.TryParse(value, out int ms) && ms >= min && ms <= 0xFFFF
            ? ms
            : throw new ConfigurationException($"emu: option '-boot {spec}': {key} must be milliseconds from {min} to 65535, not '{value}'");
}
