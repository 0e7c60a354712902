using System.Buffers.Binary;
using Emu.Machine.Io;
using Emu.Machine.State;
using Microsoft.Win32.SafeHandles;

namespace Emu.Machine.Devices.Ata;

/// <summary>
/// The primary ATA channel (ports 0x1F0–0x1F7 and 0x3F6, IRQ 14) with one PIO hard disk as master, backed by a
/// raw image file opened read/write (QEMU hw/ide/core.c, PIO only, LBA28 and CHS). Each sector the guest writes
/// goes to the file at once, nothing is cached. Without an image there is no drive and every register reads 0.
/// Runs on the vCPU thread only.
/// </summary>
public sealed partial class AtaController : IIoDevice, IVmState<AtaState>, IDisposable
{
    public const int SectorSize = 512;
    public const int MaxMultipleSectors = 16;
    public const int BufferSize = SectorSize * MaxMultipleSectors;
    public const int Irq = 14;
    public const ushort CommandBlockPort = 0x1F0;
    public const ushort ControlPort = 0x3F6;

    public static readonly VmStateDescription<AtaState> StateDescription = new(
        "ide", version: 1, minimumVersion: 1, () => new AtaState(),
        [
            VmField.U8<AtaState>("error", s => s.Error, (s, v) => s with { Error = v }),
            VmField.U8<AtaState>("feature", s => s.Feature, (s, v) => s with { Feature = v }),
            VmField.U8<AtaState>("nsector", s => s.SectorCount, (s, v) => s with { SectorCount = v }),
            VmField.U8<AtaState>("sector", s => s.Sector, (s, v) => s with { Sector = v }),
            VmField.U8<AtaState>("lcyl", s => s.CylinderLow, (s, v) => s with { CylinderLow = v }),
            VmField.U8<AtaState>("hcyl", s => s.CylinderHigh, (s, v) => s with { CylinderHigh = v }),
            VmField.U8<AtaState>("select", s => s.Select, (s, v) => s with { Select = v }),
            VmField.U8<AtaState>("status", s => s.Status, (s, v) => s with { Status = v }),
            VmField.U8<AtaState>("cmd", s => s.Control, (s, v) => s with { Control = v }),
            VmField.U8<AtaState>("command", s => s.Command, (s, v) => s with { Command = v }),
            VmField.U8<AtaState>("heads", s => s.Heads, (s, v) => s with { Heads = v }),
            VmField.U8<AtaState>("sectors", s => s.SectorsPerTrack, (s, v) => s with { SectorsPerTrack = v }),
            VmField.U8<AtaState>("mult_sectors", s => s.MultSectors, (s, v) => s with { MultSectors = v }),
            VmField.U8<AtaState>("transfer", s => (byte)s.Transfer, (s, v) => s with { Transfer = (AtaTransferKind)v }),
            ImmutableBytes.Field<AtaState>("io_buffer", BufferSize, s => s.Buffer, (s, v) => s with { Buffer = v }),
            VmField.U16<AtaState>("data_pos", s => s.DataPos, (s, v) => s with { DataPos = v }),
            VmField.U16<AtaState>("data_end", s => s.DataEnd, (s, v) => s with { DataEnd = v }),
            VmField.U32<AtaState>("remaining", s => s.Remaining, (s, v) => s with { Remaining = v }),
            VmField.U32<AtaState>("lba", s => s.Lba, (s, v) => s with { Lba = v }),
            VmField.U8<AtaState>("block_sectors", s => s.BlockSectors, (s, v) => s with { BlockSectors = v }),
            VmField.Bool<AtaState>("irq_pending", s => s.IrqPending, (s, v) => s with { IrqPending = v }),
        ],
        validate: Validate);

    internal const byte StatusErr = 0x01;
    internal const byte StatusDrq = 0x08;
    internal const byte StatusDsc = 0x10;
    internal const byte StatusDrdy = 0x40;
    internal const byte StatusBsy = 0x80;
    internal const byte ErrorAbrt = 0x04;
    internal const byte ErrorIdnf = 0x10;
    internal const byte ControlNien = 0x02;
    internal const byte ControlSrst = 0x04;
    internal const byte SelectLba = 0x40;
    internal const byte SelectSlave = 0x10;

    private readonly IIrqLines _irq;
    private readonly SafeFileHandle? _image;
    private readonly byte[] _buffer = new byte[BufferSize];

    private byte _error;
    private byte _feature;
    private byte _nsector;
    private byte _sector;
    private byte _lcyl;
    private byte _hcyl;
    private byte _select;
    private byte _status;
    private byte _control;
    private byte _command;
    private byte _heads;
    private byte _sectorsPerTrack;
    private byte _multSectors;
    private AtaTransferKind _transfer;
    private int _dataPos;
    private int _dataEnd;
    private uint _remaining;
    private uint _lba;
    private byte _blockSectors;
    private bool _irqPending;
    private bool _irqLevel;

    /// <summary>Opens <paramref name="imagePath"/> read/write as the master disk, or makes an empty channel when null.</summary>
    public AtaController(IIrqLines irq, string? imagePath)
    {
        _irq = irq;
        if (imagePath != null)
        {
            try
            {
                _image = File.OpenHandle(imagePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DiskImageException($"ata: cannot open disk image '{imagePath}' for reading and writing: {e.Message}", e);
            }

            // A last partial sector still counts; its missing tail reads as zeros.
            TotalSectors = (RandomAccess.GetLength(_image) + SectorSize - 1) / SectorSize;

            // QEMU guess_chs_for_size: 16 heads, 63 sectors, cylinders clamped to 2..16383.
            Heads = 16;
            SectorsPerTrack = 63;
            Cylinders = (int)Math.Clamp(TotalSectors / (16 * 63), 2, 16383);
        }

        ApplyLocked(new AtaState());
    }

    public bool HasDrive => _image != null;

    /// <summary>Sectors in the image, the LBA28 capacity IDENTIFY reports.</summary>
    public long TotalSectors { get; }

    /// <summary>Default CHS geometry, for IDENTIFY and the CMOS disk bytes.</summary>
    public int Cylinders { get; }

    public int Heads { get; }

    public int SectorsPerTrack { get; }

    public string SectionName => StateDescription.Name;

    public VmStateDescription<AtaState> Vmsd => StateDescription;

    /// <summary>True when the master is selected and exists; the slave never does.</summary>
    private bool DriveSelected => _image != null && (_select & SelectSlave) == 0;

    public void Register(IoBus bus)
    {
        bus.Register(CommandBlockPort, 8, this);
        bus.Register(ControlPort, 1, this);
    }

    public void Dispose() => _image?.Dispose();

    /// <summary>Power-on / system reset: signature in the task file, no transfer, interrupts enabled.</summary>
    public void Reset()
    {
        ApplyLocked(new AtaState());
        UpdateIrqLine();
    }

    public uint IoRead(ushort port, int size)
    {
        if (port == CommandBlockPort)
        {
            return ReadData(size);
        }

        if (!DriveSelected)
        {
            return 0;
        }

        switch (port)
        {
            case ControlPort:
                return _status;
            case CommandBlockPort + 1:
                return _error;
            case CommandBlockPort + 2:
                return _nsector;
            case CommandBlockPort + 3:
                return _sector;
            case CommandBlockPort + 4:
                return _lcyl;
            case CommandBlockPort + 5:
                return _hcyl;
            case CommandBlockPort + 6:
                return _select;
            default:
                // The status register; reading it acknowledges the interrupt.
                _irqPending = false;
                UpdateIrqLine();
                return _status;
        }
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        byte v = (byte)value;
        switch (port)
        {
            case CommandBlockPort:
                WriteData(size, value);
                break;
            case CommandBlockPort + 1:
                _feature = v;
                break;
            case CommandBlockPort + 2:
                _nsector = v;
                break;
            case CommandBlockPort + 3:
                _sector = v;
                break;
            case CommandBlockPort + 4:
                _lcyl = v;
                break;
            case CommandBlockPort + 5:
                _hcyl = v;
                break;
            case CommandBlockPort + 6:
                // Bits 7 and 5 are obsolete and read as one.
                _select = (byte)(v | 0xA0);
                break;
            case ControlPort:
                WriteControl(v);
                break;
            default:
                if (DriveSelected)
                {
                    ExecuteCommand(v);
                }

                break;
        }
    }

    public AtaState Save() => new()
    {
        Error = _error,
        Feature = _feature,
        SectorCount = _nsector,
        Sector = _sector,
        CylinderLow = _lcyl,
        CylinderHigh = _hcyl,
        Select = _select,
        Status = _status,
        Control = _control,
        Command = _command,
        Heads = _heads,
        SectorsPerTrack = _sectorsPerTrack,
        MultSectors = _multSectors,
        Transfer = _transfer,
        Buffer = new ImmutableBytes(_buffer),
        DataPos = (ushort)_dataPos,
        DataEnd = (ushort)_dataEnd,
        Remaining = _remaining,
        Lba = _lba,
        BlockSectors = _blockSectors,
        IrqPending = _irqPending,
    };

    public void Load(AtaState state)
    {
        StateCheck.Require(SectionName, Validate(state));
        if (state.Transfer is AtaTransferKind.Read or AtaTransferKind.Write && (long)state.Lba + state.Remaining > TotalSectors)
        {
            StateCheck.Require(SectionName, $"transfer of {state.Remaining} sectors at lba {state.Lba} is past the disk's {TotalSectors} sectors");
        }

        if (state.Transfer != AtaTransferKind.None && _image == null)
        {
            StateCheck.Require(SectionName, "a transfer is in progress but this channel has no disk");
        }

        ApplyLocked(state);
        _irqLevel = _irqPending && (_control & ControlNien) == 0;
    }

    private static string? Validate(AtaState s)
    {
        if (s.Transfer > AtaTransferKind.Identify)
        {
            return $"transfer kind {(byte)s.Transfer} is unknown, expected 0 to 3";
        }

        if (s.DataEnd > BufferSize || s.DataPos > s.DataEnd)
        {
            return $"data position {s.DataPos}/{s.DataEnd} is outside the {BufferSize}-byte buffer";
        }

        if (s.Heads is < 1 or > 16 || s.SectorsPerTrack < 1)
        {
            return $"geometry {s.Heads} heads, {s.SectorsPerTrack} sectors is invalid, expected 1–16 and 1–255";
        }

        if (s.MultSectors > MaxMultipleSectors || (s.MultSectors & (s.MultSectors - 1)) != 0 ||
            s.BlockSectors > MaxMultipleSectors)
        {
            return $"multiple count {s.MultSectors}/{s.BlockSectors} is not a power of two up to {MaxMultipleSectors}";
        }

        if (s.Remaining > 256)
        {
            return $"remaining {s.Remaining} sectors exceed one command's 256";
        }

        return null;
    }

    private void ApplyLocked(AtaState s)
    {
        _error = s.Error;
        _feature = s.Feature;
        _nsector = s.SectorCount;
        _sector = s.Sector;
        _lcyl = s.CylinderLow;
        _hcyl = s.CylinderHigh;
        _select = s.Select;
        _status = s.Status;
        _control = s.Control;
        _command = s.Command;
        _heads = s.Heads;
        _sectorsPerTrack = s.SectorsPerTrack;
        _multSectors = s.MultSectors;
        _transfer = s.Transfer;
        s.Buffer.Span.CopyTo(_buffer);
        _dataPos = s.DataPos;
        _dataEnd = s.DataEnd;
        _remaining = s.Remaining;
        _lba = s.Lba;
        _blockSectors = s.BlockSectors;
        _irqPending = s.IrqPending;
    }

    /// <summary>The data port, 16 or 32 bits (or 8) at a time, little-endian from the sector buffer.</summary>
    private uint ReadData(int size)
    {
        if (!DriveSelected || _transfer is not (AtaTransferKind.Read or AtaTransferKind.Identify) || _dataPos >= _dataEnd)
        {
            return 0;
        }

        int n = Math.Min(size, _dataEnd - _dataPos);
        uint value = n switch
        {
            4 => BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_dataPos)),
            2 or 3 => BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(_dataPos)),
            _ => _buffer[_dataPos],
        };
        _dataPos += n >= 4 ? 4 : n >= 2 ? 2 : 1;
        if (_dataPos >= _dataEnd)
        {
            EndOfReadBlock();
        }

        return value;
    }

    private void WriteData(int size, uint value)
    {
        if (!DriveSelected || _transfer != AtaTransferKind.Write || _dataPos >= _dataEnd)
        {
            return;
        }

        Span<byte> dst = _buffer.AsSpan(_dataPos, Math.Min(size, _dataEnd - _dataPos));
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = (byte)(value >> (8 * i));
        }

        _dataPos += dst.Length;
        if (_dataPos >= _dataEnd)
        {
            EndOfWriteBlock();
        }
    }

    /// <summary>Device control: SRST held then released resets the drive; nIEN masks INTRQ.</summary>
    private void WriteControl(byte value)
    {
        bool wasReset = (_control & ControlSrst) != 0;
        bool reset = (value & ControlSrst) != 0;
        _control = value;
        if (_image != null)
        {
            if (!wasReset && reset)
            {
                _transfer = AtaTransferKind.None;
                _status = StatusBsy | StatusDsc;
                _irqPending = false;
            }
            else if (wasReset && !reset)
            {
                SetSignature();
                _status = StatusDrdy | StatusDsc;
                _error = 0x01;
            }
        }

        UpdateIrqLine();
    }

    private void RaiseIrq()
    {
        _irqPending = true;
        UpdateIrqLine();
    }

    private void UpdateIrqLine()
    {
        bool level = _irqPending && (_control & ControlNien) == 0;
        if (level != _irqLevel)
        {
            _irqLevel = level;
            _irq.SetIrq(Irq, level);
        }
    }
}
