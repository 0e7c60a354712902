using System.Text.Json.Nodes;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// A source and a destination emu running a guest (ab unless told) with postcopy-ram set on both, connected over
/// loopback TCP: start the migration, switch to postcopy, poll both statuses.
/// </summary>
public sealed class PostcopyPair : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>What the guest prints after each pass over its region (ab: "B", pcsum: "P").</summary>
    private readonly string _passMark;

    private PostcopyPair(string guest, string passMark, string name, ulong ramMiB, IReadOnlyList<string> capabilities)
    {
        _passMark = passMark;
        RamBytes = ramMiB << 20;
        Port = Loopback.FreeTcpPort();
        Source = EmuProcess.StartGuest(guest, $"{name}-src", "-m", $"{ramMiB}M");
        Destination = EmuProcess.StartGuest(guest, $"{name}-dst", "-m", $"{ramMiB}M", "-d", "info", "--log-file", "dst.log", "-incoming", $"tcp:127.0.0.1:{Port}");
        SourceQmp = Source.ConnectQmp();
        DestinationQmp = Destination.ConnectQmp();
        SetCapabilities(SourceQmp, capabilities);
        SetCapabilities(DestinationQmp, [.. capabilities, "postcopy-blocktime"]);
    }

    public EmuProcess Source { get; }

    public EmuProcess Destination { get; }

    public QmpClient SourceQmp { get; }

    public QmpClient DestinationQmp { get; }

    public int Port { get; }

    public ulong RamBytes { get; }

    public string DestinationLog => File.Exists(Path.Combine(Destination.Directory, "dst.log"))
        ? File.ReadAllText(Path.Combine(Destination.Directory, "dst.log"))
        : "";

    public static PostcopyPair Start(string name, ulong ramMiB = 128, params string[] capabilities) =>
        new("ab", "B", name, ramMiB, ["postcopy-ram", .. capabilities]);

    /// <summary>The same pair running <paramref name="guest"/>, which prints <paramref name="passMark"/> after each pass.</summary>
    public static PostcopyPair StartGuest(string guest, string passMark, string name, ulong ramMiB, params string[] capabilities) =>
        new(guest, passMark, name, ramMiB, ["postcopy-ram", .. capabilities]);

    public static void SetCapabilities(QmpClient qmp, IEnumerable<string> names)
    {
        var list = new JsonArray();
        foreach (string n in names)
        {
            list.Add(new JsonObject { ["capability"] = n, ["state"] = true });
        }

        qmp.Execute("migrate-set-capabilities", new JsonObject { ["capabilities"] = list });
    }

    /// <summary>
    /// Wait for the guest's first pass, migrate, wait for the first migration pass to be under way, then
    /// migrate-start-postcopy, and wait until the destination listens (a break before that is a failed switch,
    /// not a postcopy to recover).
    /// </summary>
    public void MigrateAndSwitch(string uri)
    {
        Source.WaitForSerial(_passMark, Timeout);
        SourceQmp.Execute("migrate", new JsonObject { ["uri"] = uri });
        WaitFor(() => Transferred(SourceQmp) > (long)(RamBytes / 4), "the first pass under way");
        SourceQmp.Execute("migrate-start-postcopy");
        WaitForStatus(SourceQmp, "postcopy-active", "completed");
        WaitForStatus(DestinationQmp, "postcopy-active", "completed");
    }

    public static string Status(QmpClient qmp) => qmp.Execute("query-migrate")["status"]?.GetValue<string>() ?? "none";

    public static long Transferred(QmpClient qmp) => qmp.Execute("query-migrate")["ram"]?["transferred"]?.GetValue<long>() ?? 0;

    public static string WaitForStatus(QmpClient qmp, params string[] statuses)
    {
        string last = "";
        WaitFor(() => statuses.Contains(last = Status(qmp)), $"status {string.Join(" or ", statuses)}");
        return last;
    }

    public static void WaitFor(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"e2e: timed out waiting for {what}");
            }

            Thread.Sleep(50);
        }
    }

    public string Diagnostics() => Source.Diagnostics() + Destination.Diagnostics();

    public void Dispose()
    {
        SourceQmp.Dispose();
        DestinationQmp.Dispose();
        Source.Dispose();
        Destination.Dispose();
    }
}
