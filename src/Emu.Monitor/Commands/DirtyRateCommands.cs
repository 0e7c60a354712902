using System.Text.Json.Nodes;
using Emu.Migration.DirtyRate;
using Emu.Migration.Precopy;

namespace Emu.Monitor.Commands;

/// <summary>
/// QMP's dirty-rate commands with QEMU's names and shapes (qapi/migration.json): set-vcpu-dirty-limit
/// (dirty-rate, optional cpu-index), cancel-vcpu-dirty-limit (optional cpu-index), query-vcpu-dirty-limit,
/// calc-dirty-rate (calc-time, optional calc-time-unit, sample-pages, mode) and query-dirty-rate (optional
/// calc-time-unit), as of QEMU 8.2. Argument errors use the input visitor's words; refusals are GenericError with
/// QEMU's desc.
/// </summary>
public static class DirtyRateCommands
{
    public static void Register(QmpCommandTable table, MigrationController mig)
    {
        table.Add("set-vcpu-dirty-limit", args =>
        {
            var a = new QmpArguments(args, "cpu-index", "dirty-rate");
            ulong rate = a.GetUInt64("dirty-rate");
            return MigrationCommands.Run(() => mig.SetVcpuDirtyLimit(a.GetOptionalInt64("cpu-index"), rate));
        });
        table.Add("cancel-vcpu-dirty-limit", args =>
        {
            var a = new QmpArguments(args, "cpu-index");
            return MigrationCommands.Run(() => mig.CancelVcpuDirtyLimit(a.GetOptionalInt64("cpu-index")));
        });
        table.Add("query-vcpu-dirty-limit", args =>
        {
            _ = new QmpArguments(args);
            var list = new JsonArray();
            foreach ((int cpu, long limit, long current) in mig.QueryVcpuDirtyLimit())
            {
                list.Add(new JsonObject { ["cpu-index"] = cpu, ["limit-rate"] = limit, ["current-rate"] = current });
            }

            return list;
        });
        table.Add("calc-dirty-rate", args =>
        {
            var a = new QmpArguments(args, "calc-time", "calc-time-unit", "sample-pages", "mode");
            long calcTime = a.GetInt64("calc-time");
            DirtyRateTimeUnit unit = a.GetOptionalEnum<DirtyRateTimeUnit>("calc-time-unit", DirtyRateNames.TryParse) ?? DirtyRateTimeUnit.Second;
            long? samplePages = a.GetOptionalInt64("sample-pages");
            DirtyRateMeasureMode mode = a.GetOptionalEnum<DirtyRateMeasureMode>("mode", DirtyRateNames.TryParse) ?? DirtyRateMeasureMode.PageSampling;
            return MigrationCommands.Run(() => mig.DirtyRate.Start(calcTime, unit, samplePages, mode));
        });
        table.Add("query-dirty-rate", args =>
        {
            var a = new QmpArguments(args, "calc-time-unit");
            DirtyRateTimeUnit unit = a.GetOptionalEnum<DirtyRateTimeUnit>("calc-time-unit", DirtyRateNames.TryParse) ?? DirtyRateTimeUnit.Second;
            return ToQmp(mig.DirtyRate.Info, unit);
        });
    }

    /// <summary>QEMU query_dirty_rate_info: dirty-rate only once measured, vcpu-dirty-rate only for dirty-ring.</summary>
    private static JsonObject ToQmp(DirtyRateInfo info, DirtyRateTimeUnit unit)
    {
        var o = new JsonObject
        {
            ["status"] = info.Status.ToQmp(),
            ["start-time"] = info.StartTimeSeconds,
            ["calc-time"] = info.CalcTimeIn(unit),
            ["calc-time-unit"] = unit.ToQmp(),
            ["sample-pages"] = info.SamplePages,
            ["mode"] = info.Mode.ToQmp(),
        };
        if (info.DirtyRateMbPerSec is long rate)
        {
            o["dirty-rate"] = rate;
        }

        if (info.VcpuDirtyRatesMbPerSec is { } vcpus)
        {
            var list = new JsonArray();
            for (int i = 0; i < vcpus.Count; i++)
            {
                list.Add(new JsonObject { ["id"] = i, ["dirty-rate"] = vcpus[i] });
            }

            o["vcpu-dirty-rate"] = list;
        }

        return o;
    }
}
