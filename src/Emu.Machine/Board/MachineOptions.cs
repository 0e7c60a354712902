using Emu.Machine.Devices;

namespace Emu.Machine.Board;

/// <summary>How to assemble a <see cref="PcMachine"/>. Exactly one of a kernel or a firmware image boots it.</summary>
public sealed record MachineOptions
{
    public required ulong RamSizeBytes { get; init; }

    /// <summary>QEMU -mem-prealloc: guest RAM is backed by host memory before the machine is built.</summary>
    public bool MemPrealloc { get; init; }

    /// <summary>A multiboot ELF32 kernel or a Linux bzImage (QEMU -kernel) and its name for messages.</summary>
    public byte[]? Kernel { get; init; }

    public string KernelName { get; init; } = "kernel";

    public string KernelCommandLine { get; init; } = "";

    /// <summary>A Linux initrd (QEMU -initrd), only with a bzImage kernel.</summary>
    public byte[]? Initrd { get; init; }

    public string InitrdName { get; init; } = "initrd";

    /// <summary>A BIOS ROM image (QEMU -bios), used when there is no kernel.</summary>
    public byte[]? Firmware { get; init; }

    public string FirmwareName { get; init; } = "bios.bin";

    /// <summary>A raw disk image for the ATA master, or null.</summary>
    public string? DrivePath { get; init; }

    /// <summary>The first boot device letter for the firmware (QEMU -boot), through fw_cfg.</summary>
    public char BootDevice { get; init; } = 'c';

    /// <summary>QEMU -boot menu=on: the firmware offers its boot menu (fw_cfg FW_CFG_BOOT_MENU).</summary>
    public bool BootMenu { get; init; }

    /// <summary>QEMU -boot splash-time: how long the menu prompt waits (fw_cfg etc/boot-menu-wait), or the firmware's default.</summary>
    public int? BootMenuWaitMs { get; init; }

    /// <summary>QEMU -boot reboot-timeout: after a failed boot, retry after this many ms; -1 waits (etc/boot-fail-wait).</summary>
    public int RebootTimeoutMs { get; init; } = -1;

    public ICharBackend? Serial { get; init; }

    public ICharBackend? Debugcon { get; init; }

    /// <summary>The debug console's port (QEMU isa-debugcon iobase): 0xE9, or 0x402 for SeaBIOS's log.</summary>
    public ushort DebugconPort { get; init; } = Devices.Debug.DebugCon.Port;

    /// <summary>The VGA's option ROM behind its PCI expansion ROM BAR (SeaBIOS runs it, as QEMU's romfile), or null.</summary>
    public byte[]? VgaRom { get; init; }

    /// <summary>QEMU -no-reboot: a reset request (triple fault, keyboard reset) ends the machine instead.</summary>
    public bool NoReboot { get; init; }

    /// <summary>QEMU -rtc base=: what the CMOS clock reads at start (its fields are UTC); null is the host's UTC now.</summary>
    public DateTime? RtcBase { get; init; }

    /// <summary>The CPU's code paths (tier 2 on or off).</summary>
    public Cpu.CpuOptions Cpu { get; init; } = Emu.Machine.Cpu.CpuOptions.Default;

    /// <summary>QEMU's -d items and where they are written.</summary>
    public Diagnostics.GuestTrace Trace { get; init; } = Diagnostics.GuestTrace.Off;

    /// <summary>Instructions per vCPU slice between timer checks.</summary>
    public long SliceInstructions { get; init; } = 200_000;
}
