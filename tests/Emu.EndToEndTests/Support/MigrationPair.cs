using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// A migration source and destination, two real <c>out/emu</c> processes running the same guest, with their QMP
/// clients connected: the destination waits on <c>-incoming tcp:127.0.0.1:PORT</c> (or <c>unix:PATH</c>), the
/// source runs. Helpers set parameters and capabilities, start the migration and poll <c>query-migrate</c>
/// (as QEMU's migration-test does), and read back the MIGRATION events each side emitted.
/// </summary>
public sealed class MigrationPair : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Terminal migration states: a wait for another state fails at once when one of these is reached.</summary>
    private static readonly string[] Terminal = ["completed", "failed", "cancelled"];

    private readonly string _name;
    private readonly string[] _guestArgs;
    private readonly MigrationTransport _transport;
    private int _destinations;
    private bool _defer;

    private MigrationPair(string name, MigrationTransport transport, ulong ramBytes, string[] guestArgs)
    {
        _name = name;
        _transport = transport;
        RamBytes = ramBytes;
        _guestArgs = guestArgs;
    }

    public EmuProcess Source { get; private set; } = null!;

    public QmpClient SourceQmp { get; private set; } = null!;

    public EmuProcess Destination { get; private set; } = null!;

    public QmpClient DestinationQmp { get; private set; } = null!;

    /// <summary>The URI the source migrates to (the destination's -incoming value).</summary>
    public string Uri { get; private set; } = "";

    public ulong RamBytes { get; }

    /// <summary>
    /// Starts the source (running <paramref name="guest"/> with <paramref name="ramMiB"/> MiB and an optional
    /// multiboot command line) and a destination listening on <paramref name="transport"/>; waits until the
    /// source guest has printed its first <c>B</c> and the destination listens.
    /// </summary>
    /// <remarks>With <paramref name="deferIncoming"/> the destination gets <c>-incoming defer</c> and the test sends
    /// <c>migrate-incoming</c> with <see cref="Uri"/> itself.</remarks>
    public static MigrationPair Start(
        string name, MigrationTransport transport = MigrationTransport.Tcp, int ramMiB = 256, string? append = null, string guest = "ab", bool deferIncoming = false)
    {
        string[] guestArgs = append == null ? ["-m", $"{ramMiB}M"] : ["-m", $"{ramMiB}M", "-append", append];
        var pair = new MigrationPair(name, transport, (ulong)ramMiB << 20, [guest, .. guestArgs]) { _defer = deferIncoming };
        try
        {
            pair.Source = EmuProcess.StartGuest(guest, $"{name}-src", guestArgs);
            pair.StartDestination();
            pair.SourceQmp = pair.Source.ConnectQmp();
            pair.Source.WaitForSerial("B", Timeout);
            return pair;
        }
        catch
        {
            pair.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a (new) destination and waits until it listens; a previous one is killed first. Used for the second
    /// migration after a destination died.
    /// </summary>
    public void StartDestination(params string[] extraArgs)
    {
        DestinationQmp?.Dispose();
        Destination?.Dispose();
        string guest = _guestArgs[0];
        var dst = new EmuProcess($"{_name}-dst{_destinations++}");
        Destination = dst;
        Uri = _transport == MigrationTransport.Unix
            ? $"unix:{Path.Combine(dst.Directory, "mig.sock")}"
            : $"tcp:127.0.0.1:{Loopback.FreeTcpPort()}";
        dst.Start(["-kernel", EmuProcess.GuestPath(guest), "-serial", $"file:{dst.SerialPath}", "-display", "none", "-qmp", dst.QmpSpec,
            .. _guestArgs[1..], "-incoming", _defer ? "defer" : Uri, .. extraArgs]);
        DestinationQmp = dst.ConnectQmp();
        if (!_defer)
        {
            WaitForIncomingListening(DestinationQmp);
        }
    }

    /// <summary>Waits until a destination's incoming side has left "none" (it listens from setup on).</summary>
    public static void WaitForIncomingListening(QmpClient qmp) =>
        WaitForStatus(qmp, ["setup", "active"], Timeout);

    public void SetParameters(JsonObject parameters) => SourceQmp.Execute("migrate-set-parameters", parameters);

    /// <summary>Unlimited bandwidth (QEMU's default is 128 MiB/s), as QEMU's migration-test sets for the fast paths.</summary>
    public void SetUnlimitedBandwidth() => SetParameters(new JsonObject { ["max-bandwidth"] = 0 });

    public void SetCapability(string capability, bool state = true) => SetCapability(SourceQmp, capability, state);

    public static void SetCapability(QmpClient qmp, string capability, bool state = true) =>
        qmp.Execute("migrate-set-capabilities", new JsonObject
        {
            ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = capability, ["state"] = state }),
        });

    /// <summary>QMP migrate to the destination.</summary>
    public void Migrate() => SourceQmp.Execute("migrate", new JsonObject { ["uri"] = Uri });

    /// <summary>Migrates and waits for completed on the source, and for the destination to have completed too.</summary>
    public JsonObject MigrateToCompletion(TimeSpan? timeout = null)
    {
        Migrate();
        JsonObject info = WaitForSourceStatus("completed", timeout);
        WaitForStatus(DestinationQmp, ["completed"], timeout ?? Timeout);
        return info;
    }

    public JsonObject WaitForSourceStatus(string status, TimeSpan? timeout = null) =>
        WaitForStatus(SourceQmp, [status], timeout ?? Timeout, Diagnostics);

    public static string Status(JsonObject queryMigrate) => queryMigrate["status"]?.GetValue<string>() ?? "none";

    public JsonObject QuerySource() => SourceQmp.Execute("query-migrate").AsObject();

    /// <summary>
    /// Polls <c>query-migrate</c> every 50 ms until its status is one of <paramref name="statuses"/>; fails at
    /// once on another terminal status (with its error-desc), or after <paramref name="timeout"/>.
    /// </summary>
    public static JsonObject WaitForStatus(QmpClient qmp, string[] statuses, TimeSpan timeout, Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            JsonObject info = qmp.Execute("query-migrate").AsObject();
            string status = Status(info);
            if (Array.IndexOf(statuses, status) >= 0)
            {
                return info;
            }

            if (Array.IndexOf(Terminal, status) >= 0 || clock.Elapsed > timeout)
            {
                string why = Array.IndexOf(Terminal, status) >= 0 ? "ended" : $"still not there after {timeout.TotalSeconds:0} s";
                throw new Xunit.Sdk.XunitException(
                    $"migration: waited for {string.Join('/', statuses)}, {why}: {info.ToJsonString()}\n{diagnostics?.Invoke()}");
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>The statuses of the MIGRATION events a QMP client has received, in order.</summary>
    public static List<string> MigrationEvents(QmpClient qmp)
    {
        var list = new List<string>();
        foreach (JsonObject e in qmp.Events)
        {
            if (e["event"]?.GetValue<string>() == "MIGRATION")
            {
                list.Add(e["data"]?["status"]?.GetValue<string>() ?? "?");
            }
        }

        return list;
    }

    /// <summary>QMP query-status's status (running, paused, postmigrate, inmigrate, finish-migrate, …).</summary>
    public static string RunStatus(QmpClient qmp) => qmp.Execute("query-status")["status"]!.GetValue<string>();

    /// <summary>How many passes (B) the guest has printed so far.</summary>
    public static int Passes(EmuProcess emu) => emu.Serial.Count(c => c == 'B');

    /// <summary>Stops the guest and checks the a-b invariant over QMP (the region from 2 MiB, or region= MiB).</summary>
    public static byte StopAndCheckInvariant(EmuProcess emu, QmpClient qmp, ulong ramBytes, ulong? regionBytes = null)
    {
        if (RunStatus(qmp) == "running")
        {
            qmp.Execute("stop");
        }

        return AbInvariant.CheckOverQmp(qmp, emu.Directory, ramBytes, regionBytes);
    }

    public string Diagnostics() => Source.Diagnostics() + "\n" + Destination.Diagnostics();

    public void Dispose()
    {
        SourceQmp?.Dispose();
        DestinationQmp?.Dispose();
        Source?.Dispose();
        Destination?.Dispose();
    }
}
