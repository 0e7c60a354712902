using System.Text.Json.Nodes;

namespace Emu.Monitor.Commands;

/// <summary>
/// What the machine is, in QEMU's QMP shapes: query-target, query-machines, query-kvm (never: Emu is TCG-like),
/// query-cpus-fast and query-hotpluggable-cpus for its one vCPU, and system_powerdown.
/// </summary>
public static class TargetCommands
{
    /// <summary>QOM type of Emu's vCPU, in QEMU's "-x86_64-cpu"/"-i386-cpu" naming.</summary>
    public const string CpuType = "emu-i386-cpu";

    private const string CpuQomPath = "/machine/unattached/device[0]";

    public static void Register(QmpCommandTable table, MachineControl control)
    {
        table.Add("query-target", _ => new JsonObject { ["arch"] = "i386" });
        table.Add("query-kvm", _ => new JsonObject { ["enabled"] = false, ["present"] = false });
        table.Add("query-machines", _ => new JsonArray
        {
            new JsonObject
            {
                ["hotpluggable-cpus"] = false,
                ["name"] = "emu-pc",
                ["is-default"] = true,
                ["cpu-max"] = 1,
                ["deprecated"] = false,
                ["alias"] = "pc",
                ["numa-mem-supported"] = false,
                ["default-cpu-type"] = CpuType,
                ["default-ram-id"] = "pc.ram",
            },
        });
        table.Add("query-cpus-fast", _ => new JsonArray
        {
            new JsonObject
            {
                ["thread-id"] = control.VcpuThreadId?.Invoke() ?? Environment.ProcessId,
                ["props"] = Props(),
                ["qom-path"] = CpuQomPath,
                ["cpu-index"] = 0,
                ["target"] = "i386",
            },
        });
        table.Add("query-hotpluggable-cpus", _ => new JsonArray
        {
            new JsonObject { ["props"] = Props(), ["vcpus-count"] = 1, ["qom-path"] = CpuQomPath, ["type"] = CpuType },
        });
        table.Add("system_powerdown", _ =>
        {
            // No ACPI on this board: the POWERDOWN event is all that happens, as on QEMU's pc with acpi=off.
            (control.Powerdown ?? throw QmpException.Generic("system_powerdown is not available"))();
            return null;
        });
    }

    private static JsonObject Props() => new() { ["core-id"] = 0, ["thread-id"] = 0, ["socket-id"] = 0 };
}
