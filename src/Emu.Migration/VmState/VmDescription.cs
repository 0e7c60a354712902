using System.Text.Json.Nodes;
using Emu.Machine.Memory;
using Emu.Machine.State;

namespace Emu.Migration.VmState;

/// <summary>
/// QEMU's vmdesc: the JSON written after EOF that describes every device section (name, instance, vmsd name,
/// version, fields), built from each device's one <see cref="IVmStateDescription"/>.
/// </summary>
public static class VmDescription
{
    public static JsonObject Build(IEnumerable<IVmStateDevice> sections)
    {
        var devices = new JsonArray();
        foreach (IVmStateDevice d in sections)
        {
            JsonObject vmsd = d.Description.Describe();
            var entry = new JsonObject { ["name"] = d.SectionName, ["instance_id"] = d.InstanceId };
            foreach (KeyValuePair<string, JsonNode?> kv in vmsd)
            {
                entry[kv.Key] = kv.Value?.DeepClone();
            }

            devices.Add(entry);
        }

        return new JsonObject { ["page_size"] = RamBlock.PageSize, ["devices"] = devices };
    }
}
