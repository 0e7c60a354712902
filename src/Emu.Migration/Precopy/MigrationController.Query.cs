using System.Text.Json.Nodes;
using Emu.Machine.Memory;
using Emu.Migration.VmState;

namespace Emu.Migration.Precopy;

/// <summary>query-migrate and the capability/parameter commands of <see cref="MigrationController"/>.</summary>
public sealed partial class MigrationController
{
    /// <summary>
    /// QEMU qmp_query_migrate: the outgoing migration's fields for its state (fill_source_migration_info), or the
    /// incoming status on a destination, or <c>{}</c> when nothing has happened.
    /// </summary>
    public JsonObject QueryMigrate()
    {
        MigrationStatus s = Status;
        if (s == MigrationStatus.None)
        {
            MigrationStatus incoming = IncomingStatus;
            var dst = new JsonObject();
            if (incoming != MigrationStatus.None)
            {
                dst["status"] = incoming.ToQmp();
                if (incoming == MigrationStatus.Failed && _incoming?.Error != null)
                {
                    dst["error-desc"] = _incoming.Error;
                }

                // QEMU fill_destination_postcopy_migration_info: with postcopy-blocktime.
                if (_incoming?.Postcopy?.Blocktime is { } bt)
                {
                    dst["postcopy-blocktime"] = bt.TotalMs;
                    var vcpus = new JsonArray();
                    foreach (uint ms in bt.VcpuMs)
                    {
                        vcpus.Add(ms);
                    }

                    dst["postcopy-vcpu-blocktime"] = vcpus;
                }
            }

            return dst;
        }

        var o = new JsonObject { ["status"] = s.ToQmp() };
        switch (s)
        {
            case MigrationStatus.Setup:
                break;
            case MigrationStatus.Completed:
                o["total-time"] = Stats.TotalTimeMs;
                o["downtime"] = Stats.DowntimeMs;
                o["setup-time"] = Stats.SetupTimeMs;
                o["ram"] = RamInfo(completed: true);
                AddXbzrleInfo(o);
                break;
            case MigrationStatus.Failed:
                if (_thread?.Error != null)
                {
                    o["error-desc"] = _thread.Error;
                }

                break;
            case MigrationStatus.Cancelled:
                break;
            default:
                o["total-time"] = MonotonicClock.NowMs - Stats.StartTimeMs;
                if (!s.IsPostcopy())
                {
                    o["expected-downtime"] = Stats.ExpectedDowntimeMs;
                }

                o["setup-time"] = Stats.SetupTimeMs;
                o["ram"] = RamInfo(completed: false);
                AddXbzrleInfo(o);
                int throttle = _machine.ThrottlePercent;
                if (throttle != 0)
                {
                    o["cpu-throttle-percentage"] = throttle;
                }

                // QEMU 8.1 populate_ram_info: while a dirty-limit migration holds the limit, µs.
                if (Options.Has(MigrationCapability.DirtyLimit) && _machine.DirtyLimit.InService)
                {
                    o["dirty-limit-throttle-time-per-round"] = _machine.DirtyLimit.ThrottleTimePerRoundUs;
                    o["dirty-limit-ring-full-time"] = _machine.DirtyLimit.RingFullTimeUs;
                }

                break;
        }

        return o;
    }

    /// <summary>QEMU populate_ram_info.</summary>
    private JsonObject RamInfo(bool completed)
    {
        var ram = new JsonObject
        {
            ["transferred"] = Stats.TransferredBytes,
            ["remaining"] = completed ? 0 : Stats.RemainingBytes,
            ["total"] = Stats.TotalRamBytes,
            ["duplicate"] = Stats.ZeroPages,
            ["skipped"] = 0,
            ["normal"] = Stats.NormalPages,
            ["normal-bytes"] = Stats.NormalPages * RamBlock.PageSize,
            ["mbps"] = Stats.Mbps,
            ["dirty-sync-count"] = Stats.DirtySyncCount,
            ["postcopy-requests"] = Stats.PostcopyRequests,
            ["page-size"] = RamBlock.PageSize,
            ["multifd-bytes"] = Stats.MultifdBytes,
            ["pages-per-second"] = Stats.PagesPerSecond,
            ["precopy-bytes"] = Stats.PrecopyBytes,
            ["downtime-bytes"] = Stats.DowntimeBytes,
            ["postcopy-bytes"] = Stats.PostcopyBytes,
            ["dirty-sync-missed-zero-copy"] = 0,
        };
        if (!completed)
        {
            ram["dirty-pages-rate"] = Stats.DirtyPagesRate;
        }

        return ram;
    }

    /// <summary>QEMU populate_ram_info's "xbzrle-cache" object, present while the xbzrle capability is on.</summary>
    private void AddXbzrleInfo(JsonObject o)
    {
        if (!Options.Has(MigrationCapability.Xbzrle))
        {
            return;
        }

        XbzrleCounters x = Stats.Xbzrle;
        o["xbzrle-cache"] = new JsonObject
        {
            ["cache-size"] = Options.Parameters.XbzrleCacheSizeBytes,
            ["bytes"] = x.Bytes,
            ["pages"] = x.Pages,
            ["cache-miss"] = x.CacheMiss,
            ["cache-miss-rate"] = x.CacheMissRate,
            ["encoding-rate"] = x.EncodingRate,
            ["overflow"] = x.Overflow,
        };
    }

    /// <summary>QEMU qmp_migrate_set_capabilities: all or nothing, checked as a whole, refused while migrating.</summary>
    public void SetCapabilities(IEnumerable<(string Name, bool State)> changes)
    {
        lock (_lock)
        {
            if (Status.IsRunning())
            {
                throw new MigrationException("There's a migration process in progress");
            }

            MigrationCapabilities caps = Options.Capabilities;
            foreach ((string name, bool state) in changes)
            {
                if (!MigrationCapabilityNames.TryParse(name, out MigrationCapability c))
                {
                    throw new MigrationException($"Parameter 'capability' does not accept value '{name}'");
                }

                caps = caps.With(c, state);
            }

            string? error = caps.Validate();
            if (error != null)
            {
                throw new MigrationException(error);
            }

            Options.Capabilities = caps;
        }
    }

    /// <summary>QEMU qmp_query_migrate_capabilities: every capability with its state.</summary>
    public JsonArray QueryCapabilities()
    {
        var a = new JsonArray();
        MigrationCapabilities caps = Options.Capabilities;
        foreach (MigrationCapability c in Enum.GetValues<MigrationCapability>())
        {
            a.Add(new JsonObject { ["capability"] = c.ToQmp(), ["state"] = caps.Has(c) });
        }

        return a;
    }

    /// <summary>QEMU qmp_migrate_set_parameters: merge, validate the result, then apply (speed at the next window).</summary>
    public void SetParameters(JsonObject args)
    {
        lock (_lock)
        {
            string? error = MigrationParametersJson.TryApply(Options.Parameters, args, out MigrationParameters p);
            if (error != null)
            {
                throw new MigrationException(error);
            }

            Options.Parameters = p;
        }
    }

    public JsonObject QueryParameters() => MigrationParametersJson.ToQmp(Options.Parameters);
}
