using Emu.Machine.Cpu;
using Emu.Machine.Devices.Apic;
using Emu.Machine.Devices.Ata;
using Emu.Machine.Devices.Debug;
using Emu.Machine.Devices.Keyboard;
using Emu.Machine.Devices.Pci;
using Emu.Machine.Devices.FwCfg;
using Emu.Machine.Devices.Pic;
using Emu.Machine.Devices.Pit;
using Emu.Machine.Devices.Rtc;
using Emu.Machine.Devices.Serial;
using Emu.Machine.Devices.SysCtl;
using Emu.Machine.Devices.Vga;
using Emu.Machine.DirtyRate;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Emu.Machine.State;
using Serilog;

namespace Emu.Machine.Board;

/// <summary>
/// The PC: RAM, firmware or a multiboot kernel, the ISA devices, VGA and one vCPU with its local APIC on its own
/// thread ("vcpu/0"). Memory map: pc.ram from 0 (the VGA window 0xA0000-0xBFFFF and the BIOS alias
/// 0xE0000-0xFFFFF lie over it), the BIOS ROM at the top of 4 GiB, the VBE framebuffer at 0xE0000000, the local APIC at 0xFEE00000.
/// </summary>
public sealed partial class PcMachine : IMigratableMachine, IDisposable
{
    private static readonly ILogger Log = Serilog.Log.ForContext<PcMachine>();

    private readonly MachineOptions _options;
    private readonly List<RamBlock> _ramBlocks = [];
    private readonly List<IVmStateDevice> _devices = [];
    private readonly VcpuDirtyQuota _dirtyQuota;
    private RamPrefault? _prefault;

    public PcMachine(MachineOptions options)
    {
        _options = options;
        Memory = new AddressSpace();
        Io = new IoBus();
        Clock = new VirtualClock();

        Ram = new RamBlock("pc.ram", options.RamSizeBytes);
        _ramBlocks.Add(Ram);
        if (options.MemPrealloc)
        {
            Ram.Preallocate();
        }

        Memory.AddRam("ram", 0, Ram, 0, Ram.SizeBytes);

        Pic = new PicPair();
        Pic.Register(Io);
        Pit = new Pit8254(Clock, Pic);
        Pit.Register(Io);
        Speaker = new PcSpeakerPort(Pit, Clock);
        Speaker.Register(Io);
        Serial = new Uart16550(Pic, 4, options.Serial);
        Serial.Register(Io, 0x3F8);
        new DebugCon(options.Debugcon, options.DebugconPort).Register(Io);
        new IsaDebugExit(code => GuestExit(code)).Register(Io);
        Rtc = new Mc146818(Clock, Pic, options.RamSizeBytes, options.RtcBase);
        Rtc.Register(Io);
        FwCfg = new FwCfg(options.RamSizeBytes, bootDevice: options.BootDevice, bootMenu: options.BootMenu);
        FwCfg.Register(Io);
        AddFirmwareFiles(options);
        Keyboard = new I8042(Pic);
        Keyboard.Register(Io);
        Keyboard.ResetRequested = () => RequestReset("keyboard controller reset");
        PortA = new SystemControlPortA { ResetRequested = () => RequestReset("port 0x92 reset") };
        PortA.Register(Io);
        Ata = new AtaController(Pic, options.DrivePath);
        Ata.Register(Io);
        if (options.DrivePath != null)
        {
            Rtc.SetHardDiskGeometry(0, Ata.Cylinders, Ata.Heads, Ata.SectorsPerTrack);
        }

        Vga = new VgaDevice(Memory, Io);
        _ramBlocks.AddRange(Vga.RamBlocks);

        if (options.Kernel == null)
        {
            byte[] firmware = options.Firmware ?? throw new GuestImageException("machine: neither a kernel (-kernel) nor firmware (-bios) was given");
            Bios = FirmwareImage.Map(Memory, firmware, options.FirmwareName);
            _ramBlocks.Insert(1, Bios);
        }

        // The option-ROM area 0xC0000-0xDFFFF reads as ROM ("pc.rom", empty) until the PAM registers shadow it.
        PcRom = new RamBlock("pc.rom", OptionRomBytes);
        _ramBlocks.Add(PcRom);
        Memory.AddRam("pc.rom", OptionRomGpa, PcRom, 0, OptionRomBytes, readOnly: true, priority: 2);

        Pci = new PciHost();
        Pci.Register(Io);
        HostBridge = new I440fxHostBridge(Memory, Ram, ReadShadowedRom);
        IsaBridge = new Piix3IsaBridge(Pic);
        RamBlock? vgaRom = VgaRomBlock(options.VgaRom);
        if (vgaRom != null)
        {
            _ramBlocks.Add(vgaRom);
        }

        VgaPci = new VgaPciFunction((uint)Vga.Vram.SizeBytes, VbeDispi.LfbPhysicalAddress, Vga.MoveFramebuffer, Memory, vgaRom);
        Pci.Add(HostBridge);
        Pci.Add(IsaBridge);
        Pci.Add(new Piix3IdeFunction());
        Pci.Add(VgaPci);

        Io.Trace = options.Trace;
        // The 8259 pair reaches the CPU through the local APIC's LINT0, as on a P6 PC.
        Apic = new LocalApic(apicId: 0, Clock, Pic, Memory);
        Cpu = new X86Cpu(Memory, Io, Apic, options.Cpu) { Trace = options.Trace };
        Apic.NmiRaised = Cpu.RaiseNmi;
        Cpu.TscSource = () => (ulong)Clock.NowNs;
        Clock.InstructionCounter = () => Cpu.InstructionsNow;
        DirtyLimit = DirtyLimitState.ForOneVcpu(_ramBlocks, Cpu.RequestExit);
        _dirtyQuota = DirtyLimit.Vcpus[0];

        _devices.Add(Cpu);
        _devices.Add(Apic);
        _devices.AddRange(Pic.StateSections);
        _devices.Add(Pit);
        _devices.Add(Speaker);
        _devices.Add(Serial);
        _devices.Add(Rtc);
        _devices.Add(FwCfg);
        _devices.Add(Keyboard);
        _devices.Add(PortA);
        _devices.Add(Ata);
        _devices.Add(Vga);
        _devices.Add(new ClockState(Clock));
        _devices.Add(Pci);
        _devices.AddRange(Pci.Functions);

        ResetCpuToBoot();
        _vcpuThread = new Thread(VcpuLoop) { Name = "vcpu/0", IsBackground = true };
        _vcpuThread.Start();
    }

    public AddressSpace Memory { get; }

    public IoBus Io { get; }

    public VirtualClock Clock { get; }

    public RamBlock Ram { get; }

    public RamBlock? Bios { get; }

    public X86Cpu Cpu { get; }

    public PicPair Pic { get; }

    public LocalApic Apic { get; }

    public Pit8254 Pit { get; }

    public PcSpeakerPort Speaker { get; }

    public Uart16550 Serial { get; }

    public Mc146818 Rtc { get; }

    public FwCfg FwCfg { get; }

    public I8042 Keyboard { get; }

    public SystemControlPortA PortA { get; }

    public AtaController Ata { get; }

    public VgaDevice Vga { get; }

    /// <summary>PCI configuration mechanism #1 and bus 0: the i440FX, the PIIX3 (ISA bridge, IDE) and the VGA.</summary>
    public PciHost Pci { get; }

    public I440fxHostBridge HostBridge { get; }

    public Piix3IsaBridge IsaBridge { get; }

    public VgaPciFunction VgaPci { get; }

    /// <summary>The option-ROM area's ROM side (QEMU's "pc.rom").</summary>
    public RamBlock PcRom { get; }

    public IReadOnlyList<RamBlock> RamBlocks => _ramBlocks;

    /// <summary>The vCPU dirty-page limits and the dirty-rate tracking behind them and calc-dirty-rate.</summary>
    public DirtyLimitState DirtyLimit { get; }

    public IReadOnlyList<IVmStateDevice> Devices => _devices;

    /// <summary>The guest asked to end through isa-debug-exit (the value is the process exit code) or shut down.</summary>
    public event Action<MachineExit>? Exited;

    /// <summary>
    /// Puts the CPU where the boot path wants it (the multiboot entry, or the reset vector for firmware) and the
    /// devices in their power-on state; CMOS RAM survives, as on a PC.
    /// </summary>
    private void ResetCpuToBoot()
    {
        Pic.Reset();
        Pit.Reset();
        Serial.Reset();
        Keyboard.Reset();
        PortA.Reset();
        Ata.Reset();
        Vga.Reset();
        Pci.Reset();
        Apic.Reset();
        Cpu.Reset();
        if (_options.Kernel != null)
        {
            LoadKernel();
        }
    }

    /// <summary>QEMU's -kernel: a Linux bzImage through the 32-bit boot protocol, otherwise a multiboot ELF.</summary>
    private void LoadKernel()
    {
        byte[] image = _options.Kernel!;
        if (LinuxBootLoader.IsBzImage(image))
        {
            LinuxBootLoader.Entry l = LinuxBootLoader.Load(Memory, _options.RamSizeBytes, image, _options.KernelName, _options.KernelCommandLine, _options.Initrd, _options.InitrdName);
            Cpu.EnterLinux32(l.Eip, l.BootParams, LinuxBootLoader.BootCs, LinuxBootLoader.BootDs, l.GdtBase, l.GdtLimit);
        }
        else
        {
            if (_options.Initrd != null)
            {
                throw new GuestImageException($"kernel: '{_options.KernelName}' is not a Linux bzImage; -initrd is only for Linux kernels");
            }

            MultibootLoader.Entry e = MultibootLoader.Load(Memory, _options.RamSizeBytes, image, _options.KernelName, _options.KernelCommandLine);
            Cpu.EnterMultiboot(e.Eip, e.Eax, e.Ebx);
        }
    }

    private const ulong OptionRomGpa = 0xC0000, OptionRomBytes = 0x20000;

    /// <summary>
    /// What QEMU's fw_cfg gives SeaBIOS beside the numbered items: the E820 RAM map, the boot-failure wait (-1:
    /// wait for a key, as QEMU without -boot reboot-timeout), the boot menu's wait (-boot splash-time) and an empty
    /// boot order. Emu's own BIOS reads none.
    /// </summary>
    private void AddFirmwareFiles(MachineOptions options)
    {
        var e820 = new byte[20];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(e820, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(e820.AsSpan(8), options.RamSizeBytes);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(e820.AsSpan(16), 1);
        FwCfg.AddFile("etc/e820", e820);
        FwCfg.AddFile("etc/boot-fail-wait", BitConverter.GetBytes(options.RebootTimeoutMs));
        if (options.BootMenu && options.BootMenuWaitMs is int wait)
        {
            FwCfg.AddFile("etc/boot-menu-wait", BitConverter.GetBytes((ushort)wait));
        }

        FwCfg.AddFile("bootorder", []);
    }

    /// <summary>The VGA option ROM in a block of a power-of-two size (a ROM BAR's), padded with zeros.</summary>
    private static RamBlock? VgaRomBlock(byte[]? image)
    {
        if (image == null)
        {
            return null;
        }

        ulong size = Math.Max(RamBlock.PageSize, System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)image.Length));
        var block = new RamBlock("vga.rom", size);
        block.Write(0, image);
        return block;
    }

    /// <summary>The ROM side of a PAM segment: the BIOS's low alias at 0xE0000-0xFFFFF, "pc.rom" below it.</summary>
    private ulong ReadShadowedRom(ulong gpa, int size)
    {
        Span<byte> bytes = stackalloc byte[8];
        bytes.Clear();
        if (gpa < OptionRomGpa + OptionRomBytes)
        {
            PcRom.Slice(gpa - OptionRomGpa, size).CopyTo(bytes);
        }
        else if (Bios != null)
        {
            ulong alias = Math.Min((ulong)FirmwareImage.LowAliasMaxBytes, Bios.SizeBytes);
            ulong low = 0x100000 - alias;
            if (gpa >= low)
            {
                Bios.Slice(Bios.SizeBytes - alias + (gpa - low), size).CopyTo(bytes);
            }
        }

        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    private void GuestExit(int code)
    {
        Log.Information("guest exit through isa-debug-exit: {ExitCode}", code);
        EndMachine(new MachineExit(code, "guest-shutdown", null));
    }

    private void RequestReset(string why)
    {
        if (_options.NoReboot)
        {
            Log.Warning("guest requested a reset ({Why}); -no-reboot ends the machine", why);
            EndMachine(new MachineExit(0, "guest-reset", $"guest reset ({why}) with -no-reboot"));
            return;
        }

        Log.Information("system reset: {Why}", why);
        _resetPending = true;
        Cpu.RequestExit();
    }

    /// <summary>
    /// A destination waiting for its stream: back guest RAM with host memory in the background (see
    /// <see cref="RamPrefault"/>) unless that would take more than half the host's available memory. Stopped when
    /// the machine is disposed.
    /// </summary>
    public void StartRamPrefault()
    {
        if (!_options.MemPrealloc)
        {
            _prefault ??= RamPrefault.TryStart(_ramBlocks);
        }
    }

    public void StopRamPrefault() => _prefault?.RequestStop();

    public void Dispose()
    {
        Quit();
        _prefault?.Dispose();
        Ata.Dispose();
        foreach (RamBlock b in _ramBlocks)
        {
            b.Dispose();
        }
    }
}

/// <summary>
/// How the machine ended: the process exit code, QEMU's SHUTDOWN reason by its QMP name ("guest-shutdown",
/// "guest-reset", "host-error", …), and a message for a person.
/// </summary>
public sealed record MachineExit(int ExitCode, string Reason, string? Message);
