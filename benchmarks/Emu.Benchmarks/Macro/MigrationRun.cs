using System.Diagnostics;
using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.Benchmarks.Macro;

/// <summary>
/// One migration between two processes of the same emulator on loopback, driven by one QMP script that works
/// unchanged against Emu and QEMU (qemu's tests/qtest/migration-test.c does the same dance): boot source and
/// destination (<c>-incoming tcp:127.0.0.1:PORT</c>), wait until the guest is working, set
/// <c>max-bandwidth</c> and <c>downtime-limit</c>, <c>migrate</c>, poll <c>query-migrate</c> until
/// <c>completed</c> or the case's time limit (then <c>migrate_cancel</c>), and check the destination runs on.
/// </summary>
internal sealed class MigrationRun(EmulatorKind emulator, MigrationCase migrationCase, string progressPrefix)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private int? _passesAtStart;

    public MigrationOutcome Run()
    {
        GuestSpec guest = migrationCase.Guest;
        int port = Loopback.FreeTcpPort();
        Progress("booting");
        using VmProcess source = VmProcess.Start(emulator, "src", guest);
        string incoming = $"tcp:127.0.0.1:{port}";
        using VmProcess destination = VmProcess.Start(emulator, "dst", guest, migrationCase.Multifd != null ? "defer" : incoming);
        source.WaitForSerial(guest.ReadyText, BootTimeout);
        using QmpClient src = source.ConnectQmp();
        using QmpClient dst = destination.ConnectQmp();
        using BreakableProxy? proxy = migrationCase.Multifd is { } multifd ? EnableMultifd(src, dst, multifd, incoming) : null;

        if (migrationCase.Postcopy && EnablePostcopy(src, dst) is { } refusal)
        {
            return MigrationOutcome.Failed(emulator, refusal);
        }

        if (migrationCase.Converge is { } converge)
        {
            string capability = emulator == EmulatorKind.Emu ? converge.Emu : converge.Qemu;
            src.Execute("migrate-set-capabilities", new JsonObject
            {
                ["capabilities"] = new JsonArray { new JsonObject { ["capability"] = capability, ["state"] = true } },
            });
        }

        src.Execute("migrate-set-parameters", new JsonObject
        {
            ["max-bandwidth"] = migrationCase.MaxBandwidthBytesPerSec,
            ["downtime-limit"] = migrationCase.DowntimeLimitMs,
        });
        _passesAtStart = CountPasses(source);
        src.Execute("migrate", new JsonObject { ["uri"] = proxy != null ? $"tcp:127.0.0.1:{proxy.Port}" : incoming });
        var sw = Stopwatch.StartNew();
        TimeSpan? postcopyStartedAt = null;
        bool limitRaised = false;
        while (true)
        {
            JsonObject info = QueryMigrate(src);
            string status = info["status"]?.GetValue<string>() ?? "?";
            Progress($"{status}, {MiB(Ram(info, "transferred"))} MiB sent, pass {Ram(info, "dirty-sync-count")}, {sw.Elapsed.TotalSeconds:F1} s");
            switch (status)
            {
                case "completed":
                    MigrationOutcome done = Completed(info, destination, dst, postcopyStartedAt is { } at ? sw.Elapsed - at : null);
                    int? passesAfterSwitch = null;
                    if (postcopyStartedAt is { } switchedAt)
                    {
                        // The destination guest's work in a fixed window from the switch: postcopy's stalls, counted
                        // or not by an emulator's blocktime, and its length, as passes the guest did not make.
                        TimeSpan rest = switchedAt + GuestWorkWindow - sw.Elapsed;
                        Thread.Sleep(rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
                        passesAfterSwitch = CountPasses(destination);
                    }

                    return done with
                    {
                        GuestPassesAfterSwitch = passesAfterSwitch,
                        GuestPassesDuring = CountPasses(source) - _passesAtStart,
                        WireBytes = proxy?.BytesForwarded,
                        EventPauseMs = EventPauseMs(src, dst),
                    };
                case "failed":
                    return MigrationOutcome.Failed(emulator, $"failed: {info["error-desc"]?.GetValue<string>() ?? "(no error-desc)"}"
                        + (migrationCase.Postcopy && emulator == EmulatorKind.Qemu ? UserfaultfdHint() : ""));
                case "active" when migrationCase.RaiseDowntimeLimit is { } raise && !limitRaised && Ram(info, "dirty-sync-count") >= raise.AfterPasses:
                    src.Execute("migrate-set-parameters", new JsonObject { ["downtime-limit"] = raise.ToMs });
                    limitRaised = true;
                    break;
                case "active" when migrationCase.Postcopy && postcopyStartedAt == null && Ram(info, "dirty-sync-count") >= 2:
                    src.Execute("migrate-start-postcopy");
                    postcopyStartedAt = sw.Elapsed;
                    break;
            }

            if (sw.Elapsed > migrationCase.Timeout)
            {
                return Cancel(src, info);
            }

            Thread.Sleep(PollInterval);
        }
    }

    /// <summary>
    /// multifd with the case's channels and compression on both sides, then the deferred destination listens; the
    /// source is to connect through the returned proxy, which counts the bytes it forwards to the destination.
    /// </summary>
    private static BreakableProxy EnableMultifd(QmpClient src, QmpClient dst, (int Channels, string Compression) multifd, string incoming)
    {
        foreach (QmpClient qmp in new[] { dst, src })
        {
            qmp.Execute("migrate-set-capabilities", new JsonObject
            {
                ["capabilities"] = new JsonArray(new JsonObject { ["capability"] = "multifd", ["state"] = true }),
            });
            qmp.Execute("migrate-set-parameters", new JsonObject
            {
                ["multifd-channels"] = multifd.Channels,
                ["multifd-compression"] = multifd.Compression,
            });
        }

        dst.Execute("migrate-incoming", new JsonObject { ["uri"] = incoming });
        return new BreakableProxy(int.Parse(incoming[(incoming.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture), ProxySocketBufferBytes);
    }

    /// <summary>
    /// Sets <c>postcopy-ram</c> on both sides and <c>postcopy-blocktime</c> on the destination; returns why it was
    /// refused, or null.
    /// </summary>
    private string? EnablePostcopy(QmpClient src, QmpClient dst)
    {
        foreach ((QmpClient qmp, string side, string[] names) in new[]
        {
            (dst, "destination", migrationCase.Preempt ? new[] { "postcopy-ram", "postcopy-blocktime", "postcopy-preempt" } : new[] { "postcopy-ram", "postcopy-blocktime" }),
            (src, "source", migrationCase.Preempt ? new[] { "postcopy-ram", "postcopy-preempt" } : new[] { "postcopy-ram" }),
        })
        {
            var list = new JsonArray();
            foreach (string name in names)
            {
                list.Add(new JsonObject { ["capability"] = name, ["state"] = true });
            }

            try
            {
                qmp.Execute("migrate-set-capabilities", new JsonObject { ["capabilities"] = list });
            }
            catch (QmpErrorException e)
            {
                return $"postcopy refused by the {side}: {e.Desc}{(emulator == EmulatorKind.Qemu ? UserfaultfdHint() : "")}";
            }
        }

        return null;
    }

    /// <summary>QEMU's postcopy needs userfaultfd(2); say what this host allows.</summary>
    private static string UserfaultfdHint()
    {
        const string sysctl = "/proc/sys/vm/unprivileged_userfaultfd";
        string setting = File.Exists(sysctl) ? File.ReadAllText(sysctl).Trim() : "absent";
        bool root = Environment.UserName == "root";
        return $" (QEMU postcopy needs userfaultfd: {sysctl} = {setting}, running as {(root ? "root" : "non-root")}; "
            + "a container's seccomp profile may also block the syscall)";
    }

    private MigrationOutcome Completed(JsonObject info, VmProcess destination, QmpClient dst, TimeSpan? switchToDone)
    {
        double? truePause = emulator == EmulatorKind.Emu ? destination.ReadTruePauseMs(TimeSpan.FromSeconds(3)) : null;
        long? blocktime = null, vcpuBlocktime = null;
        PostcopySummary? summary = null;
        if (switchToDone != null)
        {
            // The destination completes after the source has sent its last page; its blocktime is final then.
            JsonObject dstInfo = WaitForMigrationStatus(dst, "completed");
            blocktime = Long(dstInfo, "postcopy-blocktime");
            vcpuBlocktime = dstInfo["postcopy-vcpu-blocktime"] is JsonArray perVcpu ? perVcpu.Sum(v => v?.GetValue<long>() ?? 0) : null;
            summary = emulator == EmulatorKind.Emu ? destination.ReadPostcopySummary(TimeSpan.FromSeconds(3)) : null;
        }

        string result = "completed";
        string dstStatus = WaitForStatus(dst, "running");
        if (dstStatus != "running")
        {
            result = $"completed, but the destination is '{dstStatus}', not running";
        }
        else if (migrationCase.Guest.ReadyText == "B")
        {
            // ab prints B after each pass: one on the destination proves the guest went on there.
            try
            {
                destination.WaitForSerial("B", SettleTimeout);
            }
            catch (MacroBenchmarkException)
            {
                result = $"completed, but the destination guest printed no B in {SettleTimeout.TotalSeconds:0} s";
            }
        }

        return new MigrationOutcome(
            emulator,
            Completed: true,
            result,
            TotalTimeMs: Long(info, "total-time"),
            DowntimeMs: Long(info, "downtime"),
            SetupTimeMs: Long(info, "setup-time"),
            TransferredBytes: Ram(info, "transferred"),
            Passes: Ram(info, "dirty-sync-count"),
            TruePauseMs: truePause,
            SwitchToDoneMs: switchToDone is { } t ? (long)t.TotalMilliseconds : null,
            BlocktimeMs: blocktime,
            VcpuBlocktimeMs: vcpuBlocktime,
            Postcopy: summary);
    }

    /// <summary>
    /// The time limit passed: cancel, and report the figures reached so far. A migration that completes in the
    /// meantime counts as completed (the cancel came too late).
    /// </summary>
    private MigrationOutcome Cancel(QmpClient src, JsonObject last)
    {
        Progress("did not converge, cancelling");
        src.Execute("migrate_cancel");
        var sw = Stopwatch.StartNew();
        string status;
        JsonObject info;
        do
        {
            Thread.Sleep(PollInterval);
            info = QueryMigrate(src);
            status = info["status"]?.GetValue<string>() ?? "?";
        }
        while (status is "cancelling" or "active" or "setup" or "device" && sw.Elapsed < SettleTimeout);

        string srcStatus = WaitForStatus(src, "running");
        string result = $"did not converge in {migrationCase.Timeout.TotalSeconds:0} s; {status}, source {srcStatus}";
        return new MigrationOutcome(
            emulator,
            Completed: false,
            result,
            TotalTimeMs: null,
            DowntimeMs: null,
            SetupTimeMs: Long(last, "setup-time"),
            TransferredBytes: Ram(last, "transferred"),
            Passes: Ram(last, "dirty-sync-count"));
    }

    /// <summary>
    /// The guest's pause as both emulators report it alike: the source's STOP event to the destination's RESUME
    /// event (QMP timestamps, the host's wall clock, same machine); null if either is missing.
    /// </summary>
    private static double? EventPauseMs(QmpClient src, QmpClient dst)
    {
        double? stop = FirstEventUs(src, "STOP"), resume = FirstEventUs(dst, "RESUME");
        return stop is { } s && resume is { } r ? (r - s) / 1000.0 : null;
    }

    private static double? FirstEventUs(QmpClient qmp, string name)
    {
        foreach (JsonObject e in qmp.Events)
        {
            if (e["event"]?.GetValue<string>() == name && e["timestamp"] is JsonObject t
                && Long(t, "seconds") is { } seconds && Long(t, "microseconds") is { } micros)
            {
                return seconds * 1_000_000.0 + micros;
            }
        }

        return null;
    }

    /// <summary>Polls <c>query-status</c> until it reports <paramref name="wanted"/>; returns the last status.</summary>
    private static string WaitForStatus(QmpClient qmp, string wanted)
    {
        var sw = Stopwatch.StartNew();
        string status;
        while ((status = qmp.Execute("query-status")["status"]?.GetValue<string>() ?? "?") != wanted
            && sw.Elapsed < SettleTimeout)
        {
            Thread.Sleep(PollInterval);
        }

        return status;
    }

    /// <summary>Polls <c>query-migrate</c> until its status is <paramref name="wanted"/>; returns the last answer.</summary>
    private static JsonObject WaitForMigrationStatus(QmpClient qmp, string wanted)
    {
        var sw = Stopwatch.StartNew();
        JsonObject info;
        while ((info = QueryMigrate(qmp))["status"]?.GetValue<string>() != wanted && sw.Elapsed < SettleTimeout)
        {
            Thread.Sleep(PollInterval);
        }

        return info;
    }

    /// <summary>The counting proxy's own socket buffers (see <see cref="BreakableProxy"/>): as Emu's multifd channels'.</summary>
    private const int ProxySocketBufferBytes = 128 << 10;

    /// <summary>How long after <c>migrate-start-postcopy</c> the destination guest's passes are counted.</summary>
    public static readonly TimeSpan GuestWorkWindow = TimeSpan.FromSeconds(3);

    /// <summary>The ab guest's passes so far on <paramref name="vm"/> (its "B" lines); null for other guests.</summary>
    private int? CountPasses(VmProcess vm) => migrationCase.Guest.ReadyText == "B" ? vm.CountSerial("B") : null;

    private static JsonObject QueryMigrate(QmpClient qmp) => qmp.Execute("query-migrate").AsObject();

    private static long? Long(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue(out long n) ? n : null;

    private static long Ram(JsonObject info, string name) => info["ram"] is JsonObject ram ? Long(ram, name) ?? 0 : 0;

    private static long MiB(long bytes) => bytes >> 20;

    private void Progress(string what) =>
        ProgressLine.Show($"{progressPrefix} {emulator.ToString().ToLowerInvariant()} {migrationCase.Label}: {what}");
}
