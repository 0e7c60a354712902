namespace Emu.Machine.Devices.Vga;

/// <summary>The VGA register file on ports 0x3B4–0x3DA and the DISPI ports (QEMU vga_ioport_read/write).</summary>
public sealed partial class VgaDevice
{
    // Writable bits per register, as QEMU's sr_mask and gr_mask.
    private static ReadOnlySpan<byte> SrMask => [0x03, 0x3D, 0x0F, 0x3F, 0x0E, 0x00, 0x00, 0xFF];

    private static ReadOnlySpan<byte> GrMask => [0x0F, 0x0F, 0x0F, 0x1F, 0x03, 0x7B, 0x0F, 0x0F, 0xFF, 0, 0, 0, 0, 0, 0, 0];

    public uint IoRead(ushort port, int size)
    {
        lock (_lock)
        {
            if (port is VbeDispi.IndexPort or VbeDispi.DataPort)
            {
                return port == VbeDispi.IndexPort ? _vbeIndex : ReadVbeData();
            }

            // A 16-bit access to an index port reads index and data (the "outw 0x3C4" idiom, in reverse).
            uint v = 0;
            for (int i = 0; i < size; i++)
            {
                v |= (uint)ReadPortByte((ushort)(port + i)) << (8 * i);
            }

            return v;
        }
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        lock (_lock)
        {
            _registerGeneration++;
            if (port is VbeDispi.IndexPort or VbeDispi.DataPort)
            {
                if (port == VbeDispi.IndexPort)
                {
                    _vbeIndex = (ushort)value;
                }
                else
                {
                    WriteVbeData((ushort)value);
                }

                return;
            }

            for (int i = 0; i < size; i++)
            {
                WritePortByte((ushort)(port + i), (byte)(value >> (8 * i)));
            }
        }
    }

    /// <summary>Ports 0x3Bx answer only in monochrome mode, 0x3Dx only in colour mode (misc output bit 0).</summary>
    private bool IgnoredForAddressMode(ushort port) =>
        (port & 0xFFF0) == ((_msr & 0x01) != 0 ? 0x3B0 : 0x3D0);

    private byte ReadPortByte(ushort port)
    {
        if (IgnoredForAddressMode(port))
        {
            return 0xFF;
        }

        switch (port)
        {
            case 0x3C0:
                // The index register reads back whatever the flip-flop says (real VGA; QEMU returns 0 in data state).
                return _arIndex;
            case 0x3C1:
                int ai = _arIndex & 0x1F;
                return ai < ArCount ? _ar[ai] : (byte)0;
            case 0x3C2:
                return _st00;
            case 0x3C4:
                return _srIndex;
            case 0x3C5:
                return _sr[_srIndex];
            case 0x3C6:
                return _pelMask;
            case 0x3C7:
                return _dacState;
            case 0x3C8:
                return _dacWriteIndex;
            case 0x3C9:
                byte c = _palette[(_dacReadIndex * 3) + _dacSubIndex];
                if (++_dacSubIndex == 3)
                {
                    _dacSubIndex = 0;
                    _dacReadIndex++;
                }

                return c;
            case 0x3CA:
                return _fcr;
            case 0x3CC:
                return _msr;
            case 0x3CE:
                return _grIndex;
            case 0x3CF:
                return _gr[_grIndex];
            case 0x3B4 or 0x3D4:
                return _crIndex;
            case 0x3B5 or 0x3D5:
                return _cr[_crIndex];
            case 0x3BA or 0x3DA:
                // Input status 1. Vertical retrace (bit 3) and display disabled (bit 0) toggle on every read, so a
                // guest that waits for retrace to start and then end never spins forever; QEMU derives them from time.
                _st01 ^= 0x09;
                _arFlipFlop = 0;
                return _st01;
            default:
                return 0xFF;
        }
    }

    private void WritePortByte(ushort port, byte value)
    {
        if (IgnoredForAddressMode(port))
        {
            return;
        }

        switch (port)
        {
            case 0x3C0:
                if (_arFlipFlop == 0)
                {
                    _arIndex = (byte)(value & 0x3F);
                }
                else
                {
                    WriteAttribute(_arIndex & 0x1F, value);
                }

                _arFlipFlop ^= 1;
                break;
            case 0x3C2:
                _msr = (byte)(value & ~0x10);
                break;
            case 0x3C4:
                _srIndex = (byte)(value & 7);
                break;
            case 0x3C5:
                _sr[_srIndex] = (byte)(value & SrMask[_srIndex]);
                break;
            case 0x3C6:
                _pelMask = value;
                break;
            case 0x3C7:
                _dacReadIndex = value;
                _dacSubIndex = 0;
                _dacState = 3;
                break;
            case 0x3C8:
                _dacWriteIndex = value;
                _dacSubIndex = 0;
                _dacState = 0;
                break;
            case 0x3C9:
                _dacCache[_dacSubIndex] = value;
                if (++_dacSubIndex == 3)
                {
                    _dacCache.CopyTo(_palette.AsSpan(_dacWriteIndex * 3, 3));
                    _dacSubIndex = 0;
                    _dacWriteIndex++;
                }

                break;
            case 0x3CE:
                _grIndex = (byte)(value & 0x0F);
                break;
            case 0x3CF:
                _gr[_grIndex] = (byte)(value & GrMask[_grIndex]);
                break;
            case 0x3B4 or 0x3D4:
                _crIndex = value;
                break;
            case 0x3B5 or 0x3D5:
                // CR11 bit 7 write-protects CR0–CR7, except the line compare bit of CR7 (QEMU does the same).
                if (_crIndex <= 7 && (_cr[0x11] & 0x80) != 0)
                {
                    if (_crIndex == 7)
                    {
                        _cr[7] = (byte)((_cr[7] & ~0x10) | (value & 0x10));
                    }
                }
                else
                {
                    _cr[_crIndex] = value;
                }

                break;
            case 0x3BA or 0x3DA:
                _fcr = (byte)(value & 0x10);
                break;
        }
    }

    private void WriteAttribute(int index, byte value)
    {
        switch (index)
        {
            case < 0x10:
                _ar[index] = (byte)(value & 0x3F);
                break;
            case 0x10:
                _ar[index] = (byte)(value & ~0x10);
                break;
            case 0x11:
                _ar[index] = value;
                break;
            case 0x12:
                _ar[index] = (byte)(value & ~0xC0);
                break;
            case 0x13 or 0x14:
                _ar[index] = (byte)(value & ~0xF0);
                break;
        }
    }
}
