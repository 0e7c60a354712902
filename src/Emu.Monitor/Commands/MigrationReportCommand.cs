using System.Text.Json.Nodes;
using Emu.Migration.Postcopy;
using Emu.Migration.Precopy;
using Emu.Migration.Report;
using Emu.Reports;

namespace Emu.Monitor.Commands;

/// <summary>
/// <c>x-emu-migration-report {"filename": PREFIX}</c> (Emu's; QEMU has none): writes the picture of the last
/// outgoing migration, running or finished, as PREFIX.png, PREFIX.csv and PREFIX.json, and returns their paths. On
/// a postcopy destination it is that side's picture: the remote fault latency histogram and the blocktime per vCPU.
/// </summary>
public static class MigrationReportCommand
{
    public const string Name = "x-emu-migration-report";

    public static void Register(QmpCommandTable table, MigrationController mig) => table.Add(Name, args =>
    {
        var a = new QmpArguments(args, "filename");
        string prefix = a.GetString("filename");
        IReadOnlyList<MigrationPass> passes = mig.OutgoingThread?.Passes.Snapshot() ?? [];
        PostcopyFaultThread? faults = mig.Incoming?.Postcopy?.Fault;
        if (passes.Count == 0 && (faults == null || faults.Latency.Count == 0))
        {
            throw QmpException.Generic("There is no outgoing migration with a pass, nor a postcopy destination with a fault, to report");
        }

        try
        {
            MigrationReportWriter.Files f = passes.Count > 0
                ? MigrationReportWriter.Write(passes, prefix, $"migration: {passes.Count} passes, {mig.Status.ToQmp()}")
                : PostcopyReportWriter.Write(PostcopyData(faults!, mig.Incoming!.Postcopy!.Blocktime), prefix, "postcopy destination");
            return new JsonObject { ["png"] = f.Png, ["csv"] = f.Csv, ["json"] = f.Json };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw QmpException.Generic($"Could not write the migration report '{prefix}': {e.Message}");
        }
    });

    private static PostcopyReportWriter.Data PostcopyData(PostcopyFaultThread faults, PostcopyBlocktime? blocktime) => new(
        faults.Latency.NonEmptyBuckets(), faults.Latency.PercentileUs(50), faults.Latency.PercentileUs(99),
        blocktime?.TotalMs ?? 0, blocktime?.VcpuMs ?? []);
}
