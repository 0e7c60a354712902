using Emu.Machine.Board;
using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.Rtc;

/// <summary>
/// The MC146818 RTC and its 128 bytes of CMOS RAM at ports 0x70/0x71 (QEMU hw/rtc/mc146818rtc.c). The time
/// registers are not ticked: while the clock runs they are computed on read from the virtual clock, so guest
/// time advances only while the guest runs and continues seamlessly after migration. Periodic, alarm and
/// update-ended interrupts go to IRQ 8 through virtual timers. The RAM-size and equipment bytes are filled as
/// QEMU's pc_cmos_init does. Runs on the vCPU thread only.
/// </summary>
public sealed partial class Mc146818 : IIoDevice, IVmState<RtcState>
{
    public const int CmosSize = 128;
    public const int Irq = 8;

    public static readonly VmStateDescription<RtcState> StateDescription = new(
        "mc146818rtc", version: 1, minimumVersion: 1, () => new RtcState(),
        [
            ImmutableBytes.Field<RtcState>("cmos_data", CmosSize, s => s.Cmos, (s, v) => s with { Cmos = v }),
            VmField.U8<RtcState>("cmos_index", s => s.Index, (s, v) => s with { Index = v }),
            VmField.Bool<RtcState>("nmi_disabled", s => s.NmiDisabled, (s, v) => s with { NmiDisabled = v }),
            VmField.I64<RtcState>("rtc_base_ns", s => s.RtcBaseNs, (s, v) => s with { RtcBaseNs = v }),
            VmField.I64<RtcState>("clock_base_ns", s => s.ClockBaseNs, (s, v) => s with { ClockBaseNs = v }),
            VmField.I64<RtcState>("last_second_seen", s => s.LastSecondSeen, (s, v) => s with { LastSecondSeen = v }),
            VmField.I64<RtcState>("next_periodic_time", s => s.NextPeriodicNs, (s, v) => s with { NextPeriodicNs = v }),
        ],
        validate: Validate);

    internal const long NsPerSecond = 1_000_000_000;
    internal const long BaseFrequency = 32_768;

    /// <summary>UIP is set this long before each update (the MC146818's 244 µs).</summary>
    internal const long UipWindowNs = 244_000;

    private readonly VirtualClock _clock;
    private readonly IIrqLines _irq;
    private readonly VirtualTimer _periodicTimer;
    private readonly VirtualTimer _updateTimer;
    private readonly byte[] _cmos = new byte[CmosSize];

    private byte _index;
    private bool _nmiDisabled;
    private long _rtcBaseNs;
    private long _clockBaseNs;
    private long _lastSecondSeen;
    private long _nextPeriodicNs = -1;
    private bool _irqLevel;

    public Mc146818(VirtualClock clock, IIrqLines irq, ulong ramSizeBytes, DateTime? baseTimeUtc = null)
    {
        _clock = clock;
        _irq = irq;
        _periodicTimer = clock.CreateTimer("mc146818rtc/periodic", _ => OnPeriodicTimer());
        _updateTimer = clock.CreateTimer("mc146818rtc/update", _ => OnUpdateTimer());

        _cmos[RegA] = 0x26;
        _cmos[RegB] = RegB24h;
        _cmos[RegD] = RegDVrt;
        DateTime start = baseTimeUtc ?? DateTime.UtcNow;
        _rtcBaseNs = (start.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;
        _clockBaseNs = clock.NowNs;
        _lastSecondSeen = FloorDiv(_rtcBaseNs, NsPerSecond);
        RefreshTimeRegisters();
        WriteBoardBytes(ramSizeBytes);
    }

    public string SectionName => StateDescription.Name;

    public VmStateDescription<RtcState> Vmsd => StateDescription;

    /// <summary>Whether the last write to port 0x70 set bit 7 (NMI masked). Emu raises no NMIs; the bit is kept.</summary>
    public bool NmiDisabled => _nmiDisabled;

    public void Register(IoBus bus) => bus.Register(0x70, 2, this);

    /// <summary>A CMOS byte as the guest would read it (for the board and tests).</summary>
    public byte GetCmos(int index) => (byte)IoReadRegister(index);

    /// <summary>Sets a CMOS byte directly (board configuration, QEMU mc146818rtc_set_cmos_data).</summary>
    public void SetCmos(int index, byte value) => _cmos[index] = value;

    /// <summary>QEMU cmos_init_hd: hard disk type 47 with its geometry, for drive 0 or 1.</summary>
    public void SetHardDiskGeometry(int drive, int cylinders, int heads, int sectorsPerTrack)
    {
        if ((uint)drive > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(drive), $"rtc: drive {drive} has no CMOS slot, expected 0 or 1");
        }

        int typeOffset = drive == 0 ? 0x19 : 0x1A;
        int infoOffset = drive == 0 ? 0x1B : 0x24;
        _cmos[0x12] = (byte)(drive == 0 ? (_cmos[0x12] & 0x0F) | 0xF0 : (_cmos[0x12] & 0xF0) | 0x0F);
        _cmos[typeOffset] = 47;
        _cmos[infoOffset] = (byte)cylinders;
        _cmos[infoOffset + 1] = (byte)(cylinders >> 8);
        _cmos[infoOffset + 2] = (byte)heads;
        _cmos[infoOffset + 3] = 0xFF;
        _cmos[infoOffset + 4] = 0xFF;
        _cmos[infoOffset + 5] = (byte)(0xC0 | (heads > 8 ? 0x08 : 0));
        _cmos[infoOffset + 6] = (byte)cylinders;
        _cmos[infoOffset + 7] = (byte)(cylinders >> 8);
        _cmos[infoOffset + 8] = (byte)sectorsPerTrack;
    }

    public uint IoRead(ushort port, int size)
    {
        // The index register is write-only; QEMU reads it as 0xFF.
        return (port & 1) == 0 ? 0xFFu : IoReadRegister(_index);
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        if ((port & 1) == 0)
        {
            _index = (byte)(value & 0x7F);
            _nmiDisabled = (value & 0x80) != 0;
            return;
        }

        WriteRegister(_index, (byte)value);
    }

    public RtcState Save() => new()
    {
        Cmos = new ImmutableBytes(_cmos),
        Index = _index,
        NmiDisabled = _nmiDisabled,
        RtcBaseNs = _rtcBaseNs,
        ClockBaseNs = _clockBaseNs,
        LastSecondSeen = _lastSecondSeen,
        NextPeriodicNs = _nextPeriodicNs,
    };

    public void Load(RtcState state)
    {
        StateCheck.Require(SectionName, Validate(state));
        state.Cmos.Span.CopyTo(_cmos);
        _index = state.Index;
        _nmiDisabled = state.NmiDisabled;
        _rtcBaseNs = state.RtcBaseNs;
        _clockBaseNs = state.ClockBaseNs;
        _lastSecondSeen = state.LastSecondSeen;
        _nextPeriodicNs = state.NextPeriodicNs;
        _irqLevel = (_cmos[RegC] & RegCIrqf) != 0;

        // Post-load: the timers follow from the state alone (the virtual clock migrates with it).
        if (_nextPeriodicNs >= 0)
        {
            _periodicTimer.Arm(_nextPeriodicNs);
        }
        else
        {
            _periodicTimer.Disarm();
        }

        ArmUpdateTimer();
    }

    private static string? Validate(RtcState s)
    {
        if (s.Cmos.Length != CmosSize)
        {
            return $"cmos_data holds {s.Cmos.Length} bytes, expected {CmosSize}";
        }

        if (s.Index >= CmosSize)
        {
            return $"cmos_index 0x{s.Index:x2} is out of range, expected below 0x80";
        }

        if (s.NextPeriodicNs < -1)
        {
            return $"next_periodic_time {s.NextPeriodicNs} is negative";
        }

        if ((s.Cmos[RegC] & 0x0F) != 0)
        {
            return $"register C 0x{s.Cmos[RegC]:x2} sets reserved bits";
        }

        return null;
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : ((a + 1) / b) - 1;

    /// <summary>QEMU pc_cmos_init: base, extended and high memory sizes, equipment, boot order, century.</summary>
    private void WriteBoardBytes(ulong ramSizeBytes)
    {
        const ulong KiB = 1024;
        const ulong MiB = 1024 * KiB;
        const ulong LowMemoryTop = 0xE000_0000;
        ulong below4g = Math.Min(ramSizeBytes, LowMemoryTop);
        ulong above4g = ramSizeBytes - below4g;

        ulong baseKiB = Math.Min(below4g / KiB, 640);
        SetU16(0x15, baseKiB);

        ulong extKiB = below4g > MiB ? Math.Min((below4g - MiB) / KiB, 65535) : 0;
        SetU16(0x17, extKiB);
        SetU16(0x30, extKiB);

        ulong above16m = below4g > 16 * MiB ? Math.Min((below4g - (16 * MiB)) / (64 * KiB), 65535) : 0;
        SetU16(0x34, above16m);

        ulong high = above4g / (64 * KiB);
        _cmos[0x5B] = (byte)high;
        _cmos[0x5C] = (byte)(high >> 8);
        _cmos[0x5D] = (byte)(high >> 16);

        // No floppy drives; equipment: math coprocessor present, VGA (display bits 00), no floppies.
        _cmos[0x10] = 0;
        _cmos[0x14] = 0x02;

        // Boot from the first hard disk (QEMU set_boot_dev codes: 1 floppy, 2 disk, 3 CD-ROM).
        _cmos[0x3D] = 0x02;
        _cmos[0x38] = 0x00;
    }

    private void SetU16(int offset, ulong value)
    {
        _cmos[offset] = (byte)value;
        _cmos[offset + 1] = (byte)(value >> 8);
    }

    private void UpdateIrqLine()
    {
        bool level = (_cmos[RegC] & RegCIrqf) != 0;
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.SetIrq(Irq, level);
        }
    }
}
