using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Emu.Chardev;
using Emu.Configuration;
using Emu.Display;
using Emu.Display.Sdl;
using Emu.Machine;
using Emu.Machine.Board;
using Emu.Machine.Cpu;
using Emu.Machine.Devices;
using Emu.Machine.Devices.Ata;
using Emu.Machine.Diagnostics;
using Emu.Migration;
using Emu.Migration.Precopy;
using Emu.Monitor;
using Emu.Monitor.Commands;
using Emu.Monitor.Events;
using Emu.Monitor.Gdb;
using Emu.Monitor.Hmp;
using Emu.Monitor.Server;
using Serilog;

namespace Emu;

/// <summary>
/// One emu process: the machine, its chardevs, the QMP servers, migration and the display, wired together.
/// <see cref="Run"/> blocks until the machine ends or QMP says quit, and returns the process exit code.
/// </summary>
internal sealed class EmuHost : IDisposable, IQmpEvents
{
    private readonly EmuOptions _options;
    private readonly List<IDisposable> _owned = [];
    private readonly List<QmpServer> _qmp = [];
    private readonly TaskCompletionSource<MachineExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RunStateEvents _runStateEvents;
    private readonly VgaRenderer _renderer;
    private readonly object _renderLock = new();
    private readonly SdlConsole? _console;
    private readonly HumanMonitor _monitor;

    public EmuHost(EmuOptions options)
    {
        _options = options;
        ICharBackend? serial = Own(CharBackends.Open(options.Serial, "-serial"));
        ICharBackend? debugcon = Own(CharBackends.Open(options.Debugcon, "-debugcon"));
        try
        {
            Machine = new PcMachine(BuildMachineOptions(options, serial, debugcon));
        }
        catch (DiskImageException e)
        {
            throw new StartupException($"emu: -drive file={options.Drive}: {HostErrorText.Of(e.InnerException!)}", e);
        }

        _owned.Add(Machine);
        Log.Information("CPU: {Tiers}", Machine.Cpu.TierDescription);
        Machine.Exited += e => _exit.TrySetResult(e);
        _renderer = new VgaRenderer(Machine.Vga);

        _runStateEvents = new RunStateEvents(Machine, this);
        _owned.Add(_runStateEvents);
        Migration = new MigrationController(Machine, Emit, Log.ForContext<MigrationController>())
        {
            IncomingFailed = message => _exit.TrySetResult(new MachineExit(1, "host-error", $"emu: {message}")),
        };

        // Disposed before the machine: a postcopy guest parked on a missing page must be released before the vCPU is joined.
        _owned.Add(Migration);

        var commands = new QmpCommandTable();
        var control = new MachineControl
        {
            Quit = () => RequestQuit(ShutdownCause.HostQmpQuit),
            SystemReset = () =>
            {
                Machine.SystemReset();
                _runStateEvents.EmitReset(ShutdownCause.HostQmpSystemReset);
            },
            SetAutostart = on => Migration.Autostart = on,
            Screendump = Screendump,
            Name = options.Name,
            RegisterDump = () => Emu.Machine.Cpu.X86Cpu.FormatRegisters(Machine.Cpu.Save()),
            TranslateLinear = Machine.Cpu.TranslateForDebugger,
            VcpuThreadId = () => Machine.VcpuThreadId,
            Powerdown = () => Emit("POWERDOWN"),
            KeyEvent = KeyEvent,
        };
        MachineCommands.Register(commands, Machine, Machine.Memory, control);
        TargetCommands.Register(commands, control);
        InputCommands.Register(commands, control);
        _monitor = HumanMonitor.Register(commands, Machine.Memory, control);
        MigrationCommands.Register(commands, Migration);
        DirtyRateCommands.Register(commands, Migration);
        foreach (string spec in options.Qmp)
        {
            QmpEndpoint endpoint;
            try
            {
                endpoint = QmpEndpoint.Parse(spec);
            }
            catch (FormatException e)
            {
                throw new ConfigurationException(e.Message);
            }

            var server = new QmpServer(endpoint, commands);
            _qmp.Add(server);
            try
            {
                server.Start();
            }
            catch (IOException e)
            {
                throw new StartupException($"emu: -qmp {spec}: {e.Message}", e);
            }
        }

        if (options.Serial == "stdio")
        {
            new Thread(ForwardStdinToSerial) { Name = "chardev/stdin", IsBackground = true }.Start();
        }
        else if (options.Monitor == "stdio")
        {
            new Thread(() => _monitor.Serve(Console.In, Console.Out)) { Name = "monitor/stdio", IsBackground = true }.Start();
        }

        if (options.Monitor is not ("none" or "stdio"))
        {
            try
            {
                _owned.Add(new HmpServer(_monitor, QmpEndpoint.Parse(options.Monitor)));
            }
            catch (IOException e)
            {
                throw new StartupException($"emu: -monitor {options.Monitor}: {e.Message}", e);
            }
        }

        if (options.PidFile != null)
        {
            WritePidFile(options.PidFile);
        }

        if (options.Gdb != null)
        {
            try
            {
                _owned.Add(new GdbServer(new GdbTarget(Machine), GdbServer.ParseSpec(options.Gdb)));
            }
            catch (Exception e) when (e is FormatException or IOException)
            {
                throw new StartupException($"emu: -gdb {options.Gdb}: {e.Message}", e);
            }
        }

        // As QEMU's termsig handler: SIGINT, SIGTERM and SIGHUP end the machine as a QMP quit would (SHUTDOWN
        // host-signal, exit code 0), so chardevs drain, sockets close and the log says why.
        SignalDisposition.RestoreInterrupt();
        foreach (PosixSignal signal in (PosixSignal[])[PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP])
        {
            _owned.Add(PosixSignalRegistration.Create(signal, OnTerminationSignal));
        }

        if (options.Display == "sdl")
        {
            _console = new SdlConsole(_renderer, ConsoleTitle, KeyEvent, () => RequestQuit(ShutdownCause.HostUi), StatusLines, options.WindowSlot);
            _owned.Add(_console);
            _console.Start();
        }
    }

    public PcMachine Machine { get; }

    public MigrationController Migration { get; }

    public int Run()
    {
        if (_options.Incoming != null)
        {
            Machine.SetRunState(RunState.InMigrate);
            Machine.StartRamPrefault();
            Migration.Autostart = !_options.StartPaused;
            try
            {
                Migration.StartIncoming(_options.Incoming);
            }
            catch (MigrationException e)
            {
                throw new StartupException($"emu: -incoming {_options.Incoming}: {e.Message}", e);
            }
        }
        else if (_options.StartPaused)
        {
            // QEMU's -S: the guest has not run yet, so the state is prelaunch (not paused) until cont.
            Machine.SetRunState(RunState.Prelaunch);
        }
        else
        {
            Machine.Start();
        }

        if (_options.Incoming == null)
        {
            Migration.WarmOutgoing();
        }

        // Under -daemonize the parent waits for this: the machine is up, its sockets listen.
        Daemon.Report("ok");
        MachineExit exit = _exit.Task.GetAwaiter().GetResult();
        if (exit.Message != null)
        {
            Console.Error.WriteLine(exit.Message);
        }

        _runStateEvents.EmitShutdown(ShutdownCauseNames.TryParse(exit.Reason, out ShutdownCause cause) ? cause : ShutdownCause.HostError);
        Log.Information("machine ended: {Reason}, exit code {ExitCode}", exit.Reason, exit.ExitCode);
        LogTierUse();
        return exit.ExitCode;
    }

    /// <summary>Which tier ran the guest: blocks compiled by tier 2 and their compile times (none with jit=off).</summary>
    private void LogTierUse()
    {
        X86Cpu cpu = Machine.Cpu;
        if (!cpu.CompilesBlocks)
        {
            Log.Information("CPU: tier 1 ran every block (tier 2 off); {Retired} instructions retired, {Translated} blocks translated", cpu.InstructionsRetired, cpu.Translations);
            return;
        }

        (double medianUs, double p99Us) = cpu.CompileTimes();
        double sharePct = cpu.InstructionsRetired == 0 ? 0 : 100.0 * cpu.InstructionsRetiredCompiled / cpu.InstructionsRetired;
        Log.Information("CPU: {Retired} instructions retired, {Translated} blocks translated; tier 2 compiled {Compiled} blocks ({Evicted} evicted); compile time per block median {MedianUs:F0} µs, p99 {P99Us:F0} µs; {SharePct:F1} % of instructions retired ran in compiled blocks; {Chained} transfers chained compiled block to compiled block",
            cpu.InstructionsRetired, cpu.Translations, cpu.BlocksCompiled, cpu.BlocksEvicted, medianUs, p99Us, sharePct, cpu.BlocksChained);
    }

    public void Emit(string name, JsonObject? data = null)
    {
        foreach (QmpServer s in _qmp)
        {
            s.Emit(name, data?.DeepClone().AsObject());
        }
    }

    private void RequestQuit(ShutdownCause cause, string? message = null) => _exit.TrySetResult(new MachineExit(0, cause.ToQmp(), message));

    private void OnTerminationSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Log.Information("terminating on signal {Signal}", context.Signal);
        RequestQuit(ShutdownCause.HostSignal, $"emu: terminating on signal {context.Signal}");
    }

    /// <summary>-serial stdio is two-way: what the user types reaches the guest's COM1.</summary>
    private void ForwardStdinToSerial()
    {
        using Stream stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        int n;
        while ((n = stdin.Read(buffer)) > 0)
        {
            Machine.Serial.Receive(buffer.AsSpan(0, n));
            Machine.Kick();
        }
    }

    private void KeyEvent(int set1Scancode, bool extended, bool down)
    {
        Machine.Keyboard.KeyEvent(set1Scancode, extended, down);
        Machine.Kick();
    }

    /// <summary>The window title: the run state, or the migration's progress while one runs.</summary>
    private string ConsoleTitle()
    {
        // QEMU shows -name in its window title; Emu's titles lead with it, or with "Emu".
        string who = _options.Name ?? "Emu";
        MigrationStatus status = Migration.Status;
        if (status is MigrationStatus.Setup or MigrationStatus.Active or MigrationStatus.PreSwitchover or MigrationStatus.Device)
        {
            MigrationStats s = Migration.Stats;
            string progress = $"migrating: pass {s.DirtySyncCount}, {SentPercent(s)} % sent, throttle {Machine.ThrottlePercent} %";
            return _options.Name == null ? progress : $"{who} — {progress}";
        }

        return $"{who} — {RunStateText(Machine.RunState)}";
    }

    /// <summary>A run state as the window says it (title and status strip).</summary>
    private static string RunStateText(RunState state) => state switch
    {
        RunState.InMigrate => "waiting for an incoming migration",
        RunState.PostMigrate => "migrated away (postmigrate)",
        RunState.Shutdown => "shut down",
        var other => other.ToQmp(),
    };

    /// <summary>How much of the guest's RAM the migration has sent, in percent.</summary>
    private static long SentPercent(MigrationStats s)
    {
        long total = Math.Max(1, s.TotalRamBytes);
        return Math.Clamp(100 * (total - s.RemainingBytes) / total, 0, 100);
    }

    /// <summary>
    /// The SDL window's status strip: who this process is and its run state; then the migration as it goes
    /// (status, pass, % sent, dirty rate, throttle) and, once done, its downtime.
    /// </summary>
    private string[] StatusLines()
    {
        string role = _options.Name ?? (_options.Incoming != null ? "destination" : "source");
        string state = RunStateText(Machine.RunState);
        MigrationStatus status = Migration.Status;
        MigrationStatus incoming = Migration.IncomingStatus;
        string migration;
        if (status == MigrationStatus.None && incoming == MigrationStatus.None)
        {
            migration = "migration: none";
        }
        else if (status == MigrationStatus.None)
        {
            migration = $"incoming migration: {incoming.ToQmp()}";
        }
        else
        {
            MigrationStats s = Migration.Stats;
            migration = status == MigrationStatus.Completed
                ? $"migration: completed, {s.DirtySyncCount} passes, downtime {s.DowntimeMs} ms"
                : $"migration: {status.ToQmp()}, pass {s.DirtySyncCount}, {SentPercent(s)} % sent, dirty {s.DirtyPagesRate} pages/s, throttle {Machine.ThrottlePercent} %";
        }

        return [$"{role}: {state}", migration];
    }

    private void Screendump(ScreendumpRequest request)
    {
        FrameBuffer frame;
        lock (_renderLock)
        {
            frame = _renderer.Snapshot(Environment.TickCount64);
        }

        ScreenDump.Write(request.FileName, frame, request.Format == Monitor.Commands.ScreendumpFormat.Png ? Display.ScreenDumpFormat.Png : Display.ScreenDumpFormat.Ppm);
    }

    private static MachineOptions BuildMachineOptions(EmuOptions o, ICharBackend? serial, ICharBackend? debugcon)
    {
        byte[]? kernel = o.Kernel != null ? ReadImage(o.Kernel, "-kernel") : null;
        BootOptions boot = BootOptions.Parse(o.Boot);
        string? biosPath = o.Kernel == null ? o.Bios ?? DefaultFirmwarePath() : null;
        return new MachineOptions
        {
            RamSizeBytes = o.RamSizeBytes,
            MemPrealloc = o.MemPrealloc,
            Kernel = kernel,
            KernelName = o.Kernel ?? "",
            KernelCommandLine = o.Append,
            Initrd = o.Initrd != null ? ReadImage(o.Initrd, "-initrd") : null,
            InitrdName = o.Initrd ?? "",
            Firmware = biosPath != null ? ReadImage(biosPath, "-bios") : null,
            FirmwareName = biosPath ?? "",
            DrivePath = o.Drive,
            BootDevice = boot.FirstDevice,
            BootMenu = boot.Menu,
            BootMenuWaitMs = boot.MenuWaitMs,
            RebootTimeoutMs = boot.RebootTimeoutMs,
            Serial = serial,
            Debugcon = debugcon,
            DebugconPort = (ushort)o.DebugconPort,
            VgaRom = o.Bios != null ? VgaRomBeside(o.Bios) : null,
            NoReboot = o.NoReboot,
            Trace = OpenTrace(o),
            Cpu = !o.Jit ? CpuOptions.InterpreterOnly
                : o.JitThreshold is int threshold ? CpuOptions.Default with { JitThreshold = threshold }
                : CpuOptions.Default,
            RtcBase = o.RtcBase,
        };
    }

    /// <summary>
    /// A firmware of the user's (-bios, SeaBIOS) gets the standard VGA's option ROM as QEMU gives it: Debian's
    /// vgabios-stdvga.bin beside the BIOS image, or in /usr/share/seabios. Emu's own BIOS has INT 10h built in.
    /// </summary>
    private static byte[]? VgaRomBeside(string biosPath)
    {
        const string name = "vgabios-stdvga.bin";
        string? found = new[] { Path.Combine(Path.GetDirectoryName(Path.GetFullPath(biosPath)) ?? ".", name), Path.Combine("/usr/share/seabios", name) }
            .FirstOrDefault(File.Exists);
        return found != null ? File.ReadAllBytes(found) : null;
    }

    /// <summary>
    /// QEMU -d/-D: the trace items to stderr or the file. Unclaimed ports and unimplemented instructions reach the
    /// log at warning level once each in any case.
    /// </summary>
    private static GuestTrace OpenTrace(EmuOptions o)
    {
        TraceItems items = o.Trace != null ? GuestTrace.Parse(o.Trace, out _) ?? TraceItems.None : TraceItems.None;
        TextWriter output = Console.Error;
        if (o.TraceFile != null && items != TraceItems.None)
        {
            try
            {
                output = new StreamWriter(o.TraceFile, append: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StartupException($"emu: -D {o.TraceFile}: {HostErrorText.Of(e)}", e);
            }
        }

        ILogger log = Log.ForContext<GuestTrace>();
        return new GuestTrace(items, output) { Info = line => log.Information("{Report}", line), Warn = line => log.Warning("{Report}", line) };
    }

    /// <summary>QEMU -pidfile: the process id and a newline; removed again when the host is disposed.</summary>
    private void WritePidFile(string path)
    {
        try
        {
            File.WriteAllText(path, $"{Environment.ProcessId}\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"emu: -pidfile {path}: {HostErrorText.Of(e)}", e);
        }

        _owned.Add(new PidFile(path));
    }

    /// <summary>The GDB stub's hold on this machine: the debug run state, the CPU's debugger hooks, memory by linear address.</summary>
    private sealed class GdbTarget(PcMachine machine) : IGdbTarget
    {
        public event Action? Stopped
        {
            add => machine.DebugStopped += value;
            remove => machine.DebugStopped -= value;
        }

        public bool IsRunning => machine.RunState == RunState.Running;

        public void Stop() => machine.Stop(RunState.Debug);

        public void Resume(bool step)
        {
            machine.Cpu.ResumeForDebugger(step);
            machine.Start();
        }

        public uint ReadRegister(int index) => machine.Cpu.ReadDebuggerRegister(index);

        public bool WriteRegister(int index, uint value) => machine.Cpu.WriteDebuggerRegister(index, value);

        public bool ReadMemory(uint linear, Span<byte> into)
        {
            for (int i = 0; i < into.Length; i++)
            {
                if (machine.Cpu.TranslateForDebugger(linear + (uint)i) is not { } gpa)
                {
                    return false;
                }

                into[i] = machine.Memory.ReadU8(gpa);
            }

            return true;
        }

        public bool WriteMemory(uint linear, ReadOnlySpan<byte> data)
        {
            for (int i = 0; i < data.Length; i++)
            {
                if (machine.Cpu.TranslateForDebugger(linear + (uint)i) is not { } gpa)
                {
                    return false;
                }

                machine.Memory.Write(gpa, 1, data[i]);
            }

            // The guest is stopped: drop translated blocks that may hold the old bytes.
            machine.FlushCpuCaches();
            return true;
        }

        public void AddBreakpoint(uint linear) => machine.Cpu.AddDebuggerBreakpoint(linear);

        public void RemoveBreakpoint(uint linear) => machine.Cpu.RemoveDebuggerBreakpoint(linear);
    }

    /// <summary>Removes the pid file at exit.</summary>
    private sealed class PidFile(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }

    /// <summary>out/firmware/bios.bin beside out/bin, where ./run.sh build puts it.</summary>
    private static string DefaultFirmwarePath() =>
        Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "firmware", "bios.bin"));

    private static byte[] ReadImage(string path, string option)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"emu: option '{option}': cannot read '{path}': {HostErrorText.Of(e)}");
        }
    }

    private T? Own<T>(T? resource)
        where T : class
    {
        if (resource is IDisposable d)
        {
            _owned.Add(d);
        }

        return resource;
    }

    public void Dispose()
    {
        foreach (QmpServer s in _qmp)
        {
            s.Dispose();
        }

        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }
}
