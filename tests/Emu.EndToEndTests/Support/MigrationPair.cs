using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// A migration source and destination, two real <c>out/emu</c> processes running the same guest, with their QMP
/// clients connected: the destination waits on <c>-incoming tcp:127.0.0.1:PORT</c> (or <c>unix:PATH</c>) and logs
/// to <see cref="DestinationLog"/>, the source runs. Helpers set parameters and capabilities, start the migration
/// (and the postcopy switch) and poll <c>query-migrate</c> (as QEMU's migration-test does), and read back the
/// MIGRATION events each side emitted.
/// </summary>
public sealed class MigrationPair : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>The destination's full log (debug level), in its directory.</summary>
    public const string DestinationLogFile = "dst.log";

    /// <summary>Terminal migration states: a wait for another state fails at once when one of these is reached.</summary>
    private static readonly string[] Terminal = ["completed", "failed", "cancelled"];

    private readonly string _name;
    /// <summary>What boots the guest (<c>-kernel … -m …</c>), the same on both sides.</summary>
    private readonly string[] _bootArgs;

    /// <summary>The guest's serial line on stdin/stdout (<c>-serial stdio</c>) instead of a file, for a shell.</summary>
    private readonly bool _serialOnStdio;
    private readonly MigrationTransport _transport;
    private readonly string _passMark;
    private int _destinations;
    private bool _defer;

    private MigrationPair(string name, MigrationTransport transport, ulong ramBytes, string[] bootArgs, string passMark, bool serialOnStdio = false)
    {
        _name = name;
        _transport = transport;
        RamBytes = ramBytes;
        _bootArgs = bootArgs;
        _serialOnStdio = serialOnStdio;
        _passMark = passMark;
    }

    public EmuProcess Source { get; private set; } = null!;

    public QmpClient SourceQmp { get; private set; } = null!;

    public EmuProcess Destination { get; private set; } = null!;

    public QmpClient DestinationQmp { get; private set; } = null!;

    /// <summary>The URI the source migrates to (the destination's -incoming value).</summary>
    public string Uri { get; private set; } = "";

    /// <summary>The destination's TCP port (tcp transport only), e.g. for a proxy in front of it.</summary>
    public int Port => _transport == MigrationTransport.Tcp
        ? int.Parse(Uri[(Uri.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture)
        : throw new InvalidOperationException($"e2e: {_name} migrates over {_transport}, not tcp");

    public ulong RamBytes { get; }

    /// <summary>The current destination's log file so far ("" before it wrote one).</summary>
    public string DestinationLog
    {
        get
        {
            string path = Path.Combine(Destination.Directory, DestinationLogFile);
            if (!File.Exists(path))
            {
                return "";
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>
    /// Starts the source (running <paramref name="guest"/> with <paramref name="ramMiB"/> MiB and an optional
    /// multiboot command line) and a destination listening on <paramref name="transport"/>; waits until the
    /// source guest has printed its first <paramref name="passMark"/> (ab: <c>B</c>, pcsum: <c>P</c>) and the
    /// destination listens.
    /// </summary>
    /// <remarks>With <paramref name="deferIncoming"/> the destination gets <c>-incoming defer</c> and the test sends
    /// <c>migrate-incoming</c> with <see cref="Uri"/> itself.</remarks>
    public static MigrationPair Start(
        string name, MigrationTransport transport = MigrationTransport.Tcp, int ramMiB = 256, string? append = null, string guest = "ab",
        bool deferIncoming = false, string passMark = "B")
    {
        string[] guestArgs = append == null ? ["-m", $"{ramMiB}M"] : ["-m", $"{ramMiB}M", "-append", append];
        var pair = new MigrationPair(name, transport, (ulong)ramMiB << 20, ["-kernel", EmuProcess.GuestPath(guest), .. guestArgs], passMark) { _defer = deferIncoming };
        return pair.StartBoth(() => pair.Source.WaitForSerial(passMark, Timeout));
    }

    /// <summary>
    /// A pair running Emu's Linux guest (<see cref="LinuxGuest"/>) with its serial console on each process's
    /// stdin/stdout; returns once the source's shell answers. The a-b checker runs when <paramref name="append"/>
    /// asks for it (<c>abcheck=MiB,ms</c>).
    /// </summary>
    public static MigrationPair StartLinux(string name, MigrationTransport transport = MigrationTransport.Tcp, int ramMiB = 128, string append = "")
    {
        var pair = new MigrationPair(name, transport, (ulong)ramMiB << 20, [.. LinuxGuest.BootArgs(append), "-m", $"{ramMiB}M"], LinuxGuest.PassMark, serialOnStdio: true);
        return pair.StartBoth(() => LinuxGuest.WaitForShell(pair.Source));
    }

    private MigrationPair StartBoth(Action sourceReady)
    {
        try
        {
            Source = new EmuProcess($"{_name}-src");
            Source.Start([.. _bootArgs, "-serial", SerialSpec(Source), "-display", "none", "-qmp", Source.QmpSpec]);
            StartDestination();
            SourceQmp = Source.ConnectQmp();
            sourceReady();
            return this;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private string SerialSpec(EmuProcess emu) => _serialOnStdio ? "stdio" : $"file:{emu.SerialPath}";

    /// <summary>
    /// A pair booting Emu's Linux guest from its SYSLINUX disk under Debian's SeaBIOS (the disk is shared by both
    /// sides, as storage is in a live migration); returns once the source's shell answers.
    /// </summary>
    public static MigrationPair StartSeaBiosLinux(string name, string disk, MigrationTransport transport = MigrationTransport.Tcp, int ramMiB = 128)
    {
        var pair = new MigrationPair(name, transport, (ulong)ramMiB << 20,
            ["-bios", SeaBios.Image, "-drive", $"file={disk},format=raw", "-m", $"{ramMiB}M"], LinuxGuest.PassMark, serialOnStdio: true);
        return pair.StartBoth(() => LinuxGuest.WaitForShell(pair.Source));
    }

    /// <summary>
    /// A pair over TCP ready for postcopy: postcopy-ram and <paramref name="capabilities"/> on both sides, and
    /// postcopy-blocktime on the destination.
    /// </summary>
    public static MigrationPair StartPostcopy(string name, int ramMiB = 128, string guest = "ab", string passMark = "B", params string[] capabilities)
    {
        MigrationPair pair = Start(name, ramMiB: ramMiB, guest: guest, passMark: passMark);
        try
        {
            SetCapabilities(pair.SourceQmp, ["postcopy-ram", .. capabilities]);
            SetCapabilities(pair.DestinationQmp, ["postcopy-ram", .. capabilities, "postcopy-blocktime"]);
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
        var dst = new EmuProcess($"{_name}-dst{_destinations++}");
        Destination = dst;
        Uri = _transport == MigrationTransport.Unix
            ? $"unix:{Path.Combine(dst.Directory, "mig.sock")}"
            : $"tcp:127.0.0.1:{Loopback.FreeTcpPort()}";
        dst.Start([.. _bootArgs, "-serial", SerialSpec(dst), "-display", "none", "-qmp", dst.QmpSpec,
            "--log-file", Path.Combine(dst.Directory, DestinationLogFile), "-incoming", _defer ? "defer" : Uri, .. extraArgs]);
        DestinationQmp = dst.ConnectQmp();
        if (!_defer)
        {
            WaitForIncomingListening(DestinationQmp);
        }
    }

    /// <summary>
    /// Ping-pong: after a completed migration the destination becomes the source (the old source process, left in
    /// postmigrate, ends) and a fresh destination listens. A process that migrated its guest out cannot take one
    /// in, as QEMU's, so the guest goes back and forth between two processes by restarting the one it left.
    /// </summary>
    public void PromoteDestination()
    {
        SourceQmp.Dispose();
        Source.Dispose();
        Source = Destination;
        SourceQmp = DestinationQmp;
        Destination = null!;
        DestinationQmp = null!;
        StartDestination();
    }

    /// <summary>Waits until a destination's incoming side has left "none" (it listens from setup on).</summary>
    public static void WaitForIncomingListening(QmpClient qmp) =>
        WaitForStatus(qmp, ["setup", "active"], Timeout);

    public void SetParameters(JsonObject parameters) => SourceQmp.Execute("migrate-set-parameters", parameters);

    /// <summary>Unlimited bandwidth (QEMU's default is 128 MiB/s), as QEMU's migration-test sets for the fast paths.</summary>
    public void SetUnlimitedBandwidth() => SetParameters(new JsonObject { ["max-bandwidth"] = 0 });

    public void SetCapability(string capability, bool state = true) => SetCapabilities(SourceQmp, [capability], state);

    public static void SetCapability(QmpClient qmp, string capability, bool state = true) => SetCapabilities(qmp, [capability], state);

    /// <summary>One migrate-set-capabilities setting every capability in <paramref name="names"/> to <paramref name="state"/>.</summary>
    public static void SetCapabilities(QmpClient qmp, IEnumerable<string> names, bool state = true)
    {
        var list = new JsonArray();
        foreach (string n in names)
        {
            list.Add(new JsonObject { ["capability"] = n, ["state"] = state });
        }

        qmp.Execute("migrate-set-capabilities", new JsonObject { ["capabilities"] = list });
    }

    /// <summary>QMP migrate to the destination.</summary>
    public void Migrate() => Migrate(Uri);

    /// <summary>QMP migrate to <paramref name="uri"/> (e.g. a proxy in front of the destination).</summary>
    public void Migrate(string uri) => SourceQmp.Execute("migrate", new JsonObject { ["uri"] = uri });

    /// <summary>Migrates and waits for completed on the source, and for the destination to have completed too.</summary>
    public JsonObject MigrateToCompletion(TimeSpan? timeout = null)
    {
        Migrate();
        JsonObject info = WaitForSourceStatus("completed", timeout);
        WaitForDestinationStatus("completed", timeout);
        return info;
    }

    /// <summary>
    /// Migrates (to <paramref name="uri"/> or the destination), waits for the first pass to be a quarter done,
    /// then sends migrate-start-postcopy.
    /// </summary>
    public void MigrateAndStartPostcopy(string? uri = null)
    {
        Migrate(uri ?? Uri);
        WaitUntil(() => Transferred(SourceQmp) > (long)(RamBytes / 4), "the first pass under way");
        SourceQmp.Execute("migrate-start-postcopy");
    }

    /// <summary>
    /// <see cref="MigrateAndStartPostcopy"/>, then waits until both sides are in postcopy-active (a break before
    /// that is a failed switch, not a postcopy to recover).
    /// </summary>
    public void MigrateAndSwitch(string? uri = null)
    {
        MigrateAndStartPostcopy(uri);
        WaitForStatus(SourceQmp, ["postcopy-active", "completed"], Timeout, Diagnostics);
        WaitForStatus(DestinationQmp, ["postcopy-active", "completed"], Timeout, Diagnostics);
    }

    public JsonObject WaitForSourceStatus(string status, TimeSpan? timeout = null) =>
        WaitForStatus(SourceQmp, [status], timeout ?? Timeout, Diagnostics);

    public JsonObject WaitForDestinationStatus(string status, TimeSpan? timeout = null) =>
        WaitForStatus(DestinationQmp, [status], timeout ?? Timeout, Diagnostics);

    public static string Status(JsonObject queryMigrate) => queryMigrate["status"]?.GetValue<string>() ?? "none";

    public JsonObject QuerySource() => SourceQmp.Execute("query-migrate").AsObject();

    /// <summary>query-migrate's ram.transferred (0 before the migration has RAM figures).</summary>
    public static long Transferred(QmpClient qmp) => qmp.Execute("query-migrate")["ram"]?["transferred"]?.GetValue<long>() ?? 0;

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

    /// <summary>Polls <paramref name="condition"/> every 50 ms; fails after <see cref="Timeout"/> naming <paramref name="what"/>.</summary>
    public void WaitUntil(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Timeout)
            {
                throw new Xunit.Sdk.XunitException($"e2e: waited {Timeout.TotalSeconds:0} s for {what}\n{Diagnostics()}");
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>
    /// The statuses of the MIGRATION events a QMP client has received, in order, once the one for
    /// <paramref name="through"/> is among them (or the timeout passed, so the caller's assertion shows what came):
    /// as QEMU's migrate_set_state, a status is visible to query-migrate just before its event is sent.
    /// </summary>
    public static List<string> MigrationEvents(QmpClient qmp, string through)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var list = new List<string>();
            foreach (JsonObject e in qmp.Events)
            {
                if (e["event"]?.GetValue<string>() == "MIGRATION")
                {
                    list.Add(e["data"]?["status"]?.GetValue<string>() ?? "?");
                }
            }

            if (list.Contains(through) || clock.Elapsed > Timeout)
            {
                return list;
            }

            Thread.Sleep(10);
        }
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

    /// <summary>
    /// Waits for the destination guest's next pass (so it ran on after the migration), then stops it and checks
    /// the a-b invariant there.
    /// </summary>
    public byte CheckInvariantOnDestination()
    {
        Destination.WaitForSerial(_passMark, Destination.Serial.Count(c => c == _passMark[0]) + 1, Timeout);
        return StopAndCheckInvariant(Destination, DestinationQmp, RamBytes);
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
