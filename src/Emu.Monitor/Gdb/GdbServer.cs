using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Emu.Migration.Transport;
using Serilog;

namespace Emu.Monitor.Gdb;

/// <summary>
/// QEMU's gdbstub for one i386 vCPU (<c>-s</c>, <c>-gdb tcp::PORT</c>): GDB's remote serial protocol over TCP,
/// one debugger at a time. Registers (g/G/p/P), memory at linear addresses (m/M), software and hardware
/// breakpoints (Z0/Z1, z0/z1: both are the stub's own, invisible to the guest), continue and single step
/// (c/s/vCont), and Ctrl-C stops the guest. Stop replies are <c>T05</c> (breakpoint, step) and <c>T02</c> (Ctrl-C).
/// </summary>
public sealed class GdbServer : IDisposable
{
    private static readonly ILogger Log = Serilog.Log.ForContext<GdbServer>();

    private readonly IGdbTarget _target;
    private readonly Socket _listener;
    private readonly object _sendLock = new();
    private Socket? _client;
    private volatile bool _waitingForStop;
    private bool _disposed;

    public GdbServer(IGdbTarget target, IPEndPoint endpoint)
    {
        _target = target;
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        ListeningSocket.ReuseAddressOnly(_listener);
        try
        {
            _listener.Bind(endpoint);
            _listener.Listen(1);
        }
        catch (SocketException e)
        {
            _listener.Dispose();
            throw new IOException($"Failed to bind socket: {e.Message}", e);
        }

        _target.Stopped += OnStopped;
        new Thread(AcceptLoop) { Name = "gdbstub", IsBackground = true }.Start();
        Log.Information("gdbstub: listening on {Endpoint}", endpoint);
    }

    /// <summary>QEMU's <c>-gdb</c> device spec: <c>tcp::PORT</c>, <c>tcp:HOST:PORT</c> or a bare port.</summary>
    public static IPEndPoint ParseSpec(string spec)
    {
        string rest = spec.StartsWith("tcp:", StringComparison.Ordinal) ? spec[4..] : spec;
        int colon = rest.LastIndexOf(':');
        string host = colon < 0 ? "" : rest[..colon];
        string port = colon < 0 ? rest : rest[(colon + 1)..];
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p > 65535)
        {
            throw new FormatException($"'{spec}' is not tcp::PORT or tcp:HOST:PORT");
        }

        IPAddress address = host.Length == 0 ? IPAddress.Any : host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out IPAddress? a) ? a : throw new FormatException($"'{host}' is not an address");
        return new IPEndPoint(address, p);
    }

    public void Dispose()
    {
        _disposed = true;
        _target.Stopped -= OnStopped;
        _listener.Dispose();
        _client?.Dispose();
    }

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            client.NoDelay = true;
            _client = client;
            Log.Information("gdbstub: debugger connected from {Peer}", client.RemoteEndPoint);
            if (_target.IsRunning)
            {
                // As QEMU: a debugger that attaches finds the guest stopped.
                _target.Stop();
            }

            try
            {
                Serve(client);
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
                Log.Debug("gdbstub: connection ended: {Reason}", e.Message);
            }
            finally
            {
                _client = null;
                client.Dispose();
                Log.Information("gdbstub: debugger disconnected");
            }
        }
    }

    private void Serve(Socket client)
    {
        var buffer = new byte[4096];
        var packet = new StringBuilder();
        bool inPacket = false;
        int checksumLeft = 0;
        while (true)
        {
            int n = client.Receive(buffer);
            if (n == 0)
            {
                return;
            }

            for (int i = 0; i < n; i++)
            {
                char c = (char)buffer[i];
                if (checksumLeft > 0)
                {
                    if (--checksumLeft == 0)
                    {
                        Send("+", raw: true);
                        if (!Handle(packet.ToString()))
                        {
                            return;
                        }
                    }
                }
                else if (inPacket)
                {
                    if (c == '#')
                    {
                        inPacket = false;
                        checksumLeft = 2;
                    }
                    else
                    {
                        packet.Append(c);
                    }
                }
                else if (c == '$')
                {
                    inPacket = true;
                    packet.Clear();
                }
                else if (c == '\x03' && _target.IsRunning)
                {
                    _waitingForStop = false;
                    _target.Stop();
                    Send("T02thread:01;");
                }
            }
        }
    }

    /// <summary>Answers one packet; false when the debugger asked to detach or kill.</summary>
    private bool Handle(string p)
    {
        switch (p.Length > 0 ? p[0] : '\0')
        {
            case '?':
                Send("T05thread:01;");
                break;
            case 'g':
                Send(ReadAllRegisters());
                break;
            case 'G':
                for (int i = 0; i < 16 && (i * 8) + 8 <= p.Length - 1; i++)
                {
                    _target.WriteRegister(i, Le32(p.AsSpan(1 + (i * 8), 8)));
                }

                Send("OK");
                break;
            case 'p':
                Send(Hex32(_target.ReadRegister(int.Parse(p[1..], NumberStyles.HexNumber, CultureInfo.InvariantCulture))));
                break;
            case 'P':
                {
                    int eq = p.IndexOf('=');
                    int reg = int.Parse(p[1..eq], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    Send(_target.WriteRegister(reg, Le32(p.AsSpan(eq + 1))) ? "OK" : "E01");
                    break;
                }

            case 'm':
                Send(ReadMemory(p[1..]));
                break;
            case 'M':
                Send(WriteMemory(p[1..]));
                break;
            case 'Z' or 'z' when p.Length > 1 && p[1] is '0' or '1':
                {
                    uint addr = uint.Parse(p.Split(',')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (p[0] == 'Z')
                    {
                        _target.AddBreakpoint(addr);
                    }
                    else
                    {
                        _target.RemoveBreakpoint(addr);
                    }

                    Send("OK");
                    break;
                }

            case 'c':
                Resume(step: false);
                break;
            case 's':
                Resume(step: true);
                break;
            case 'v' when p == "vCont?":
                Send("vCont;c;C;s;S");
                break;
            case 'v' when p.StartsWith("vCont;", StringComparison.Ordinal):
                Resume(step: p[6] is 's' or 'S');
                break;
            case 'q' when p.StartsWith("qSupported", StringComparison.Ordinal):
                Send("PacketSize=1000;swbreak+;hwbreak+;vContSupported+");
                break;
            case 'q' when p == "qAttached":
                Send("1");
                break;
            case 'q' when p == "qC":
                Send("QC01");
                break;
            case 'q' when p == "qfThreadInfo":
                Send("m01");
                break;
            case 'q' when p == "qsThreadInfo":
                Send("l");
                break;
            case 'H' or 'T':
                Send("OK");
                break;
            case 'D':
                Send("OK");
                Detach();
                return false;
            case 'k':
                Detach();
                return false;
            default:
                Send("");
                break;
        }

        return true;
    }

    /// <summary>On detach or kill the guest runs on without the debugger's breakpoints (QEMU's gdb_continue on detach).</summary>
    private void Detach()
    {
        if (!_target.IsRunning)
        {
            _target.Resume(step: false);
        }
    }

    private void Resume(bool step)
    {
        _waitingForStop = true;
        _target.Resume(step);
    }

    private void OnStopped()
    {
        if (_waitingForStop)
        {
            _waitingForStop = false;
            Send("T05thread:01;");
        }
    }

    private string ReadAllRegisters()
    {
        var b = new StringBuilder(16 * 8);
        for (int i = 0; i < 16; i++)
        {
            b.Append(Hex32(_target.ReadRegister(i)));
        }

        return b.ToString();
    }

    private string ReadMemory(string args)
    {
        string[] parts = args.Split(',');
        uint addr = uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        int len = Math.Min(int.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), 0x800);
        var data = new byte[len];
        return _target.ReadMemory(addr, data) ? Convert.ToHexString(data).ToLowerInvariant() : "E14";
    }

    private string WriteMemory(string args)
    {
        int colon = args.IndexOf(':');
        string[] parts = args[..colon].Split(',');
        uint addr = uint.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        byte[] data = Convert.FromHexString(args[(colon + 1)..]);
        return _target.WriteMemory(addr, data) ? "OK" : "E14";
    }

    private static string Hex32(uint v) => Convert.ToHexString(BitConverter.GetBytes(v)).ToLowerInvariant();

    private static uint Le32(ReadOnlySpan<char> hex) => BitConverter.ToUInt32(Convert.FromHexString(hex[..8]));

    private void Send(string payload, bool raw = false)
    {
        Socket? client = _client;
        if (client == null)
        {
            return;
        }

        string frame = raw ? payload : $"${payload}#{Encoding.ASCII.GetBytes(payload).Aggregate(0, (s, b) => (s + b) & 0xFF):x2}";
        lock (_sendLock)
        {
            try
            {
                client.Send(Encoding.ASCII.GetBytes(frame));
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Log.Debug("gdbstub: send failed: {Reason}", e.Message);
            }
        }
    }
}
