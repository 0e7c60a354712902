using Emu.Machine.Io;
using Emu.Machine.Memory;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Vga;

/// <summary>
/// A VGA with the Bochs VBE extensions (QEMU hw/display/vga.c, the "isa-vga"/std-vga core): memory planes in
/// the legacy window 0xA0000–0xBFFFF, the VGA register file on ports 0x3B4–0x3DA, the DISPI interface on
/// 0x1CE/0x1CF and a linear framebuffer at 0xE0000000.
/// </summary>
/// <remarks>
/// Vram layout is QEMU's: plane p of planar address a is byte <c>a * 4 + p</c>, so chain-4 (mode 13h) and the VBE
/// framebuffer are plain linear bytes. Vram is its own RAM block ("vga.vram") with the VGA dirty client enabled,
/// so the display redraws only written pages and migration sends it as RAM.
/// Threads: the vCPU thread does port and MMIO accesses; a display thread calls <see cref="CaptureScanout"/>.
/// Register writes and the capture take <c>_lock</c>; the MMIO path only reads registers, which only the vCPU
/// thread writes, so it needs no lock. The renderer reads vram without the lock: a torn frame is redrawn next time.
/// </remarks>
public sealed unsafe partial class VgaDevice : IVmState<VgaState>, IIoDevice, IMmioDevice, IDisposable
{
    public const ulong DefaultVramBytes = 16 * 1024 * 1024;
    public const ulong LegacyWindowGpa = 0xA0000;
    public const ulong LegacyWindowBytes = 0x20000;

    internal const int SrCount = 8;
    internal const int GrCount = 16;
    internal const int ArCount = 21;
    internal const int CrCount = 256;
    internal const int PaletteBytes = 768;

    private readonly Lock _lock = new();
    private readonly byte* _vram;
    private readonly ulong _vramBytes;

    private uint _latch;
    private byte _srIndex;
    private readonly byte[] _sr = new byte[SrCount];
    private byte _grIndex;
    private readonly byte[] _gr = new byte[GrCount];
    private byte _arIndex;
    private readonly byte[] _ar = new byte[ArCount];
    private byte _arFlipFlop;
    private byte _crIndex;
    private readonly byte[] _cr = new byte[CrCount];
    private byte _msr;
    private byte _fcr;
    private byte _st00;
    private byte _st01;
    private byte _pelMask;
    private byte _dacState;
    private byte _dacSubIndex;
    private byte _dacReadIndex;
    private byte _dacWriteIndex;
    private readonly byte[] _dacCache = new byte[3];
    private readonly byte[] _palette = new byte[PaletteBytes];
    private ushort _vbeIndex;
    private readonly ushort[] _vbeRegs = new ushort[VbeDispi.RegisterCount];
    private uint _bankOffset;

    // Derived from the VBE registers (QEMU vbe_start_addr, vbe_line_offset); recomputed, never migrated.
    private int _vbeStartOffset;
    private int _vbeLineOffset;

    // Written under _lock by the vCPU thread, read under _lock by the display.
    private ulong _registerGeneration;

    /// <summary>
    /// Creates the vram block, maps the legacy window (MMIO) and the linear framebuffer (RAM), claims the ports,
    /// and powers up in mode 03h (80x25 text), so a guest that writes to 0xB8000 without a BIOS is visible.
    /// </summary>
    private readonly AddressSpace _memory;
    private MemoryRegion? _lfb;

    public VgaDevice(AddressSpace memory, IoBus io, ulong vramBytes = DefaultVramBytes)
    {
        if (vramBytes < 256 * 1024 || (vramBytes & 0xFFFF) != 0 || vramBytes > 256UL * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(vramBytes), $"vga: vram size 0x{vramBytes:x} must be a multiple of 64 KiB from 256 KiB to 256 MiB");
        }

        Vram = new RamBlock("vga.vram", vramBytes);
        Vram.DirtyLog.Enable(DirtyClient.Vga);
        RamBlocks = [Vram];
        _vram = Vram.HostPointer;
        _vramBytes = vramBytes;

        memory.AddMmio("vga.legacy", LegacyWindowGpa, LegacyWindowBytes, this);
        _memory = memory;
        MoveFramebuffer(VbeDispi.LfbPhysicalAddress);

        io.Register(0x3B4, 2, this);
        io.Register(0x3BA, 1, this);
        io.Register(0x3C0, 16, this);
        io.Register(0x3D4, 2, this);
        io.Register(0x3DA, 1, this);
        io.Register(VbeDispi.IndexPort, 2, this);

        Reset();
    }

    /// <summary>The planes and the VBE framebuffer ("vga.vram").</summary>
    public RamBlock Vram { get; }

    /// <summary>Where the linear framebuffer is mapped (its PCI BAR), or null while it is not.</summary>
    public ulong? FramebufferAddress => _lfb?.Gpa;

    /// <summary>Maps the linear framebuffer (all of vram) at <paramref name="address"/>, or unmaps it (null).</summary>
    public void MoveFramebuffer(ulong? address)
    {
        if (_lfb != null && _lfb.Gpa == address)
        {
            return;
        }

        if (_lfb != null)
        {
            _memory.Remove(_lfb);
            _lfb = null;
        }

        if (address is ulong gpa)
        {
            _lfb = _memory.AddRam("vga.lfb", gpa, Vram, 0, _vramBytes);
        }
    }

    /// <summary>The RAM blocks this device owns, for the machine's migration list.</summary>
    public IReadOnlyList<RamBlock> RamBlocks { get; }

    public string SectionName => "vga";

    /// <summary>Power-on state: mode 03h registers, the EGA text palette in DAC 0–63, VBE disabled.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _latch = 0;
            _srIndex = _grIndex = _crIndex = 0;
            _arIndex = 0x20;
            _arFlipFlop = 0;
            _msr = Mode03.Misc;
            _fcr = 0;
            _st00 = 0;
            _st01 = 0;
            _pelMask = 0xFF;
            _dacState = 0;
            _dacSubIndex = _dacReadIndex = _dacWriteIndex = 0;
            Array.Clear(_dacCache);
            Mode03.Sequencer.CopyTo(_sr);
            Array.Clear(_gr);
            Mode03.Graphics.CopyTo(_gr);
            Mode03.Attribute.CopyTo(_ar);
            Array.Clear(_cr);
            Mode03.Crtc.CopyTo(_cr);
            Array.Clear(_palette);
            Mode03.LoadEgaPalette(_palette);
            _vbeIndex = 0;
            Array.Clear(_vbeRegs);
            _vbeRegs[VbeDispi.IndexId] = VbeDispi.Id5;
            _vbeRegs[VbeDispi.IndexBpp] = 8;
            _bankOffset = 0;
            UpdateVbeGeometry();
            _registerGeneration++;
        }
    }

    public void Dispose() => Vram.Dispose();

    private bool VbeEnabled => (_vbeRegs[VbeDispi.IndexEnable] & VbeDispi.Enabled) != 0;
}
