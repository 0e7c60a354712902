namespace Emu.Configuration;

/// <summary>
/// Every setting of one <c>emu</c> process, bound from defaults &lt; <c>emu.json</c> &lt; <c>EMU_*</c> environment
/// &lt; command line. Property names are the configuration keys (e.g. <c>EMU_Memory=256M</c>, <c>"Serial": "stdio"</c>).
/// </summary>
public sealed class EmuOptions
{
    /// <summary>Guest RAM, QEMU <c>-m</c> syntax ("128M", "1G", "512" = MiB).</summary>
    public string Memory { get; set; } = "128M";

    public string? Kernel { get; set; }

    /// <summary>The kernel command line (QEMU <c>-append</c>): multiboot's cmdline or Linux's.</summary>
    public string Append { get; set; } = "";

    /// <summary>An initial RAM disk for a Linux bzImage kernel (QEMU <c>-initrd</c>).</summary>
    public string? Initrd { get; set; }

    public string? Bios { get; set; }

    /// <summary>A raw disk image for the ATA master (<c>-drive file=PATH,format=raw</c>).</summary>
    public string? Drive { get; set; }

    /// <summary>QEMU -boot: the first boot device letter handed to the firmware through fw_cfg (c = hard disk).</summary>
    public string Boot { get; set; } = "c";

    public string Serial { get; set; } = "stdio";

    public string Debugcon { get; set; } = "none";

    /// <summary>The debug console's port (QEMU <c>-device isa-debugcon,iobase=N</c>); 0xE9 by default.</summary>
    public int DebugconPort { get; set; } = 0xE9;

    public string Display { get; set; } = "none";

    /// <summary>QMP endpoints (<c>-qmp</c>, may repeat): unix:PATH,server,wait=off or tcp:HOST:PORT,server,wait=off.</summary>
    public List<string> Qmp { get; set; } = [];

    public string? Incoming { get; set; }

    public bool NoReboot { get; set; }

    /// <summary>QEMU <c>-mem-prealloc</c>: back all guest RAM with host memory before the guest starts.</summary>
    public bool MemPrealloc { get; set; }

    /// <summary>QEMU <c>-S</c>: do not start the guest until <c>cont</c>.</summary>
    public bool StartPaused { get; set; }

    public int Smp { get; set; } = 1;

    public string? Name { get; set; }

    /// <summary>Console log level (<c>-d LEVEL</c>): verbose, debug, information, warning, error.</summary>
    public string LogLevel { get; set; } = "warning";

    public string? LogFile { get; set; }

    /// <summary>
    /// Tier 2, the IL compiler for hot guest blocks (<c>EMU_Jit=false</c> or <c>-accel tcg,jit=off</c> leaves every
    /// block to the interpreter).
    /// </summary>
    public bool Jit { get; set; } = true;

    /// <summary>
    /// Whole tier 1 runs of a block before tier 2 compiles it (<c>EMU_JitThreshold</c>; default
    /// <see cref="Emu.Machine.Cpu.CpuOptions.JitThreshold"/>): for studying what compiling earlier or later costs.
    /// </summary>
    public int? JitThreshold { get; set; }

    /// <summary>QEMU <c>-d ITEMS</c>: trace items (int, cpu_reset, guest_errors, unimp, in_asm, exec), or null.</summary>
    public string? Trace { get; set; }

    /// <summary>QEMU <c>-D FILE</c>: where the -d trace goes (default stderr).</summary>
    public string? TraceFile { get; set; }

    /// <summary>
    /// Where the SDL window opens (<c>EMU_WindowSlot</c>): slot N sits N window widths right of the screen's left
    /// edge, so two emus open side by side without a window manager; unset lets the window manager decide.
    /// </summary>
    public int? WindowSlot { get; set; }

    /// <summary>QEMU <c>-gdb tcp::PORT</c> (or <c>-s</c> for port 1234): the GDB remote stub, or null.</summary>
    public string? Gdb { get; set; }

    /// <summary>QEMU <c>-monitor</c>: <c>none</c> (the default), <c>stdio</c>, or a socket (<c>unix:PATH,server,wait=off</c>) for the human monitor.</summary>
    public string Monitor { get; set; } = "none";

    /// <summary>QEMU <c>-rtc base=</c>: <c>utc</c> (default), <c>localtime</c>, or a date the CMOS clock starts at.</summary>
    public string Rtc { get; set; } = "utc";

    /// <summary>The CMOS clock's start for <see cref="Rtc"/>: its fields are read as UTC, so localtime shifts by the host's offset.</summary>
    public DateTime RtcBase => Rtc switch
    {
        "utc" => DateTime.UtcNow,
        "localtime" => DateTime.SpecifyKind(DateTime.Now, DateTimeKind.Utc),
        var date => TryParseRtcDate(date, out DateTime start) ? start : throw new ConfigurationException($"emu: option '-rtc': base={date} is not a date"),
    };

    /// <summary>QEMU's <c>-rtc base=</c> date forms, <c>YYYY-MM-DD</c> or <c>YYYY-MM-DDTHH:MM:SS</c>, read as UTC.</summary>
    public static bool TryParseRtcDate(string text, out DateTime utc) =>
        DateTime.TryParseExact(text, ["yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd"], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out utc);

    /// <summary>QEMU <c>-daemonize</c>: detach from the terminal once started (stdio chardevs are refused).</summary>
    public bool Daemonize { get; set; }

    /// <summary>QEMU <c>-pidfile</c>: the process id is written here at start and the file removed at exit.</summary>
    public string? PidFile { get; set; }

    public ulong RamSizeBytes => MemorySize.Parse(Memory, "-m");
}
