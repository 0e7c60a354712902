using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// One a-b guest migrated back and forth between two emu processes, hop after hop, precopy or postcopy: each hop
/// migrates the running guest to a fresh destination, checks that the guest went on there (a new pass, never a
/// new "A", which would be a restart) and that it passes the a-b rule, then lets it run and makes that
/// destination the next source (<see cref="MigrationPair.PromoteDestination"/>). Used by the 2+2-hop e2e test and
/// by <c>./run.sh soak</c>.
/// </summary>
public sealed class PingPong : IDisposable
{
    /// <summary>Postcopy hops switch during the first pass at this bandwidth (QEMU's default), precopy hops are unlimited.</summary>
    private const long PostcopyMaxBandwidth = 128L << 20;

    private readonly MigrationPair _pair;
    private int _hops;

    private PingPong(MigrationPair pair) => _pair = pair;

    public static PingPong Start(string name, int ramMiB) => new(MigrationPair.Start(name, ramMiB: ramMiB));

    /// <summary>What both processes said lately, for a failure report.</summary>
    public string Diagnostics() => _pair.Diagnostics();

    public PingPongHop Hop(bool postcopy)
    {
        if (_hops > 0)
        {
            _pair.PromoteDestination();
        }

        MigrationPair.SetCapability(_pair.SourceQmp, "postcopy-ram", postcopy);
        if (postcopy)
        {
            MigrationPair.SetCapabilities(_pair.DestinationQmp, ["postcopy-ram", "postcopy-blocktime"]);
        }

        _pair.SetParameters(new JsonObject { ["max-bandwidth"] = postcopy ? PostcopyMaxBandwidth : 0 });
        var clock = Stopwatch.StartNew();
        JsonObject source;
        long? blocktime = null;
        if (postcopy)
        {
            _pair.MigrateAndSwitch();
            source = _pair.WaitForSourceStatus("completed");
            blocktime = _pair.WaitForDestinationStatus("completed")["postcopy-blocktime"]?.GetValue<long>();
        }
        else
        {
            source = _pair.MigrateToCompletion();
        }

        double totalMs = clock.Elapsed.TotalMilliseconds;
        _hops++;
        Assert.Equal("postmigrate", MigrationPair.RunStatus(_pair.SourceQmp));
        byte v = _pair.CheckInvariantOnDestination();
        Assert.False(_pair.Destination.Serial.Contains('A'), $"hop {_hops}: the guest started over on the destination (it printed A)\n{Diagnostics()}");
        _pair.DestinationQmp.Execute("cont");
        return new PingPongHop(_hops, postcopy, totalMs, source["downtime"]?.GetValue<long>() ?? -1, blocktime, v);
    }

    public void Dispose() => _pair.Dispose();
}
