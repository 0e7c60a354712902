using Serilog;

namespace Emu.Machine.Devices.Ata;

/// <summary>Command execution and PIO sector transfers (QEMU ide_exec_cmd, ide_sector_read/write).</summary>
public sealed partial class AtaController
{
    internal static readonly ILogger Log = Serilog.Log.ForContext<AtaController>();

    private void ExecuteCommand(byte command)
    {
        _command = command;
        _transfer = AtaTransferKind.None;
        _error = 0;
        switch (command)
        {
            case 0xEC:
                AtaIdentify.Build(_buffer, Cylinders, Heads, SectorsPerTrack, _heads, _sectorsPerTrack, TotalSectors, _multSectors);
                _transfer = AtaTransferKind.Identify;
                _dataPos = 0;
                _dataEnd = SectorSize;
                _status = StatusDrdy | StatusDsc | StatusDrq;
                RaiseIrq();
                break;
            case 0x20:
            case 0x21:
                StartTransfer(AtaTransferKind.Read, 1);
                break;
            case 0x30:
            case 0x31:
                StartTransfer(AtaTransferKind.Write, 1);
                break;
            case 0xC4:
            case 0xC5:
                if (_multSectors == 0)
                {
                    Abort();
                    break;
                }

                StartTransfer(command == 0xC4 ? AtaTransferKind.Read : AtaTransferKind.Write, _multSectors);
                break;
            case 0xC6:
                // SET MULTIPLE MODE: a power of two up to the maximum; 0 turns multiple mode off.
                if (_nsector > MaxMultipleSectors || (_nsector & (_nsector - 1)) != 0)
                {
                    Abort();
                    break;
                }

                _multSectors = _nsector;
                Complete();
                break;
            case 0x40:
            case 0x41:
                // READ VERIFY: check the range, move nothing.
                if (TryTarget(out uint lba, out uint count))
                {
                    SetSector(lba + count - 1);
                    Complete();
                }

                break;
            case 0x91:
                // INITIALIZE DEVICE PARAMETERS: the CHS translation the guest will address with.
                if (_nsector == 0)
                {
                    Abort();
                    break;
                }

                _sectorsPerTrack = _nsector;
                _heads = (byte)((_select & 0x0F) + 1);
                Complete();
                break;
            case 0xEF:
                SetFeatures();
                break;
            case 0xE7:
            case 0xEA:
                // FLUSH CACHE: writes already went through.
                Complete();
                break;
            case 0x90:
                // EXECUTE DEVICE DIAGNOSTIC: device 0 passed, no device 1.
                SetSignature();
                _error = 0x01;
                _status = StatusDrdy | StatusDsc;
                RaiseIrq();
                break;
            case 0xE5:
                _nsector = 0xFF;
                Complete();
                break;
            case >= 0x10 and <= 0x1F:
            case >= 0x70 and <= 0x7F:
            case 0xE0:
            case 0xE1:
            case 0xE2:
            case 0xE3:
            case 0xE6:
                // RECALIBRATE, SEEK and the power commands: nothing moves on an image.
                Complete();
                break;
            default:
                Log.Debug("ata: command 0x{Command:x2} is not implemented, aborting it", command);
                Abort();
                break;
        }
    }

    private void SetFeatures()
    {
        switch (_feature)
        {
            case 0x02:
            case 0x82:
            case 0x03:
            case 0x55:
            case 0xAA:
            case 0x66:
            case 0xCC:
                // Write cache and look-ahead switches, transfer mode: accepted; PIO timing has no meaning here.
                Complete();
                break;
            default:
                Abort();
                break;
        }
    }

    private void StartTransfer(AtaTransferKind kind, int blockSectors)
    {
        if (!TryTarget(out uint lba, out uint count))
        {
            return;
        }

        _transfer = kind;
        _lba = lba;
        _remaining = count;
        _blockSectors = (byte)blockSectors;
        if (kind == AtaTransferKind.Read)
        {
            StartReadBlock();
        }
        else
        {
            // The host sends the first block without an interrupt; later ones are asked for with IRQ.
            PrepareBlock();
            _status = StatusDrdy | StatusDsc | StatusDrq;
        }
    }

    private void PrepareBlock()
    {
        _dataPos = 0;
        _dataEnd = (int)Math.Min(_blockSectors, _remaining) * SectorSize;
    }

    private void StartReadBlock()
    {
        PrepareBlock();
        Span<byte> block = _buffer.AsSpan(0, _dataEnd);
        try
        {
            int got = RandomAccess.Read(_image!, block, (long)_lba * SectorSize);
            block[got..].Clear();
        }
        catch (IOException e)
        {
            Log.Error(e, "ata: reading {Sectors} sectors at lba {Lba} failed", _dataEnd / SectorSize, _lba);
            MediaError();
            return;
        }

        _status = StatusDrdy | StatusDsc | StatusDrq;
        RaiseIrq();
    }

    private void EndOfReadBlock()
    {
        if (_transfer == AtaTransferKind.Identify)
        {
            _transfer = AtaTransferKind.None;
            _status = StatusDrdy | StatusDsc;
            return;
        }

        AdvanceBlock();
        if (_remaining > 0)
        {
            StartReadBlock();
        }
        else
        {
            _transfer = AtaTransferKind.None;
            _status = StatusDrdy | StatusDsc;
        }
    }

    private void EndOfWriteBlock()
    {
        try
        {
            RandomAccess.Write(_image!, _buffer.AsSpan(0, _dataEnd), (long)_lba * SectorSize);
        }
        catch (IOException e)
        {
            Log.Error(e, "ata: writing {Sectors} sectors at lba {Lba} failed", _dataEnd / SectorSize, _lba);
            MediaError();
            return;
        }

        AdvanceBlock();
        if (_remaining > 0)
        {
            PrepareBlock();
            _status = StatusDrdy | StatusDsc | StatusDrq;
        }
        else
        {
            _transfer = AtaTransferKind.None;
            _status = StatusDrdy | StatusDsc;
        }

        RaiseIrq();
    }

    /// <summary>As QEMU: after each block the task file points at the next sector and the count shrinks.</summary>
    private void AdvanceBlock()
    {
        uint n = (uint)(_dataEnd / SectorSize);
        _lba += n;
        _remaining -= n;
        _nsector = (byte)(_nsector - n);
        SetSector(_lba);
    }

    /// <summary>The command's first sector and count from the task file (LBA28 or CHS), or an IDNF abort.</summary>
    private bool TryTarget(out uint lba, out uint count)
    {
        count = _nsector == 0 ? 256u : _nsector;
        long first;
        if ((_select & SelectLba) != 0)
        {
            first = ((_select & 0x0F) << 24) | (_hcyl << 16) | (_lcyl << 8) | _sector;
        }
        else
        {
            int cylinder = _lcyl | (_hcyl << 8);
            int head = _select & 0x0F;
            if (_sector == 0 || _sector > _sectorsPerTrack || head >= _heads)
            {
                first = -1;
            }
            else
            {
                first = (((long)cylinder * _heads) + head) * _sectorsPerTrack + _sector - 1;
            }
        }

        if (first < 0 || first + count > TotalSectors)
        {
            lba = 0;
            _error = ErrorIdnf | ErrorAbrt;
            _status = StatusDrdy | StatusDsc | StatusErr;
            RaiseIrq();
            return false;
        }

        lba = (uint)first;
        return true;
    }

    /// <summary>QEMU ide_set_sector: writes <paramref name="lba"/> back in the addressing mode the guest used.</summary>
    private void SetSector(uint lba)
    {
        if ((_select & SelectLba) != 0)
        {
            _sector = (byte)lba;
            _lcyl = (byte)(lba >> 8);
            _hcyl = (byte)(lba >> 16);
            _select = (byte)((uint)(_select & 0xF0) | ((lba >> 24) & 0x0F));
            return;
        }

        uint perCylinder = (uint)(_heads * _sectorsPerTrack);
        uint cylinder = lba / perCylinder;
        uint rest = lba % perCylinder;
        _lcyl = (byte)cylinder;
        _hcyl = (byte)(cylinder >> 8);
        _select = (byte)((uint)(_select & 0xF0) | (rest / _sectorsPerTrack));
        _sector = (byte)((rest % _sectorsPerTrack) + 1);
    }

    private void SetSignature()
    {
        _nsector = 1;
        _sector = 1;
        _lcyl = 0;
        _hcyl = 0;
        _select = 0xA0;
    }

    private void Complete()
    {
        _status = StatusDrdy | StatusDsc;
        RaiseIrq();
    }

    private void Abort()
    {
        _transfer = AtaTransferKind.None;
        _error = ErrorAbrt;
        _status = StatusDrdy | StatusDsc | StatusErr;
        RaiseIrq();
    }

    private void MediaError()
    {
        _transfer = AtaTransferKind.None;
        _error = ErrorAbrt;
        _status = StatusDrdy | StatusErr;
        RaiseIrq();
    }
}
