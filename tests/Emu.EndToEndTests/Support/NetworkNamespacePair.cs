using System.Diagnostics;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// Two Linux network namespaces joined by one veth link (10.199.0.1 in the source's, 10.199.0.2 in the
/// destination's), so a migration crosses a real link that a test can take down and bring up, as a network does:
/// the connection stalls rather than breaks. Needs root and <c>ip netns</c>; <see cref="Unavailable"/> says why not.
/// Both namespaces (and the link with them) are deleted on dispose.
/// </summary>
public sealed class NetworkNamespacePair : IDisposable
{
    public const string SourceAddress = "10.199.0.1", DestinationAddress = "10.199.0.2";

    private const string Ip = "/usr/sbin/ip";

    private readonly string _id = Guid.NewGuid().ToString("N")[..6];

    private NetworkNamespacePair()
    {
    }

    /// <summary>The source's namespace name (for <c>ip netns exec</c>).</summary>
    public string Source => $"emu-s-{_id}";

    public string Destination => $"emu-d-{_id}";

    /// <summary>The veth ends (interface names stay under 16 bytes).</summary>
    private string SourceLink => $"evs{_id}";

    private string DestinationLink => $"evd{_id}";

    /// <summary>Why namespaces cannot be made here (not root, no ip, ip netns refused), or null when they can.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root")
        {
            return $"network namespaces need root (running as {Environment.UserName})";
        }

        if (!File.Exists(Ip))
        {
            return $"network namespaces need {Ip} (iproute2)";
        }

        string probe = $"emu-probe-{Guid.NewGuid().ToString("N")[..6]}";
        (int code, string output) = Run("netns", "add", probe);
        if (code != 0)
        {
            return $"'ip netns add' failed here: {output.Trim()}";
        }

        Run("netns", "del", probe);
        return null;
    }

    public static NetworkNamespacePair Create()
    {
        var pair = new NetworkNamespacePair();
        try
        {
            pair.Must("netns", "add", pair.Source);
            pair.Must("netns", "add", pair.Destination);
            pair.Must("-n", pair.Source, "link", "add", pair.SourceLink, "type", "veth", "peer", "name", pair.DestinationLink, "netns", pair.Destination);
            pair.Must("-n", pair.Source, "addr", "add", $"{SourceAddress}/24", "dev", pair.SourceLink);
            pair.Must("-n", pair.Destination, "addr", "add", $"{DestinationAddress}/24", "dev", pair.DestinationLink);
            foreach ((string ns, string link) in new[] { (pair.Source, pair.SourceLink), (pair.Destination, pair.DestinationLink) })
            {
                pair.Must("-n", ns, "link", "set", "lo", "up");
                pair.Must("-n", ns, "link", "set", link, "up");
            }

            return pair;
        }
        catch
        {
            pair.Dispose();
            throw;
        }
    }

    /// <summary>Both ends down: packets stop, nobody is told; connections stall.</summary>
    public void LinkDown()
    {
        Must("-n", Source, "link", "set", SourceLink, "down");
        Must("-n", Destination, "link", "set", DestinationLink, "down");
    }

    public void LinkUp()
    {
        Must("-n", Source, "link", "set", SourceLink, "up");
        Must("-n", Destination, "link", "set", DestinationLink, "up");
    }

    /// <summary>
    /// <c>out/emu ARGS -serial file:… -qmp unix:…</c> in namespace <paramref name="ns"/>, started by
    /// <c>ip netns exec</c> (which execs it, so the process is emu's). Its QMP socket is a path, reachable from
    /// any namespace.
    /// </summary>
    public static EmuProcess EmuIn(string ns, string name, params string[] emuArgs)
    {
        var emu = new EmuProcess(name) { Program = Ip };
        try
        {
            emu.Start(["netns", "exec", ns, EmuProcess.EmuPath, .. emuArgs, "-serial", $"file:{emu.SerialPath}", "-qmp", emu.QmpSpec]);
            return emu;
        }
        catch
        {
            emu.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Run("netns", "del", Source);
        Run("netns", "del", Destination);
    }

    private void Must(params string[] args)
    {
        (int code, string output) = Run(args);
        if (code != 0)
        {
            throw new InvalidOperationException($"e2e: ip {string.Join(' ', args)} failed ({code}): {output.Trim()}");
        }
    }

    private static (int Code, string Output) Run(params string[] args)
    {
        var info = new ProcessStartInfo(Ip) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}
