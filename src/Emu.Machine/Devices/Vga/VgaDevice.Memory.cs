using System.Runtime.CompilerServices;
using Emu.Machine.Memory;

namespace Emu.Machine.Devices.Vga;

/// <summary>
/// The legacy memory window 0xA0000–0xBFFFF (QEMU vga_mem_readb / vga_mem_writeb): chain-4, odd/even and planar
/// access with the latches, write modes 0–3 (rotate, set/reset, logical op, bit mask, map mask) and read modes 0–1.
/// </summary>
public sealed unsafe partial class VgaDevice
{
    public ulong MmioRead(ulong offset, int size)
    {
        ulong v = 0;
        for (int i = 0; i < size; i++)
        {
            v |= (ulong)ReadByte((uint)offset + (uint)i) << (8 * i);
        }

        return v;
    }

    public void MmioWrite(ulong offset, int size, ulong value)
    {
        for (int i = 0; i < size; i++)
        {
            WriteByte((uint)offset + (uint)i, (byte)(value >> (8 * i)));
        }
    }

    /// <summary>Expands a 4-bit plane mask to one byte per plane (QEMU mask16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Expand4(int bits) =>
        ((bits & 1) != 0 ? 0x000000FFu : 0) | ((bits & 2) != 0 ? 0x0000FF00u : 0)
        | ((bits & 4) != 0 ? 0x00FF0000u : 0) | ((bits & 8) != 0 ? 0xFF000000u : 0);

    /// <summary>
    /// Maps a window offset to the planar address the graphics controller's memory map select (GR6 bits 2–3)
    /// gives it, or -1 when the window does not decode that offset.
    /// </summary>
    private long DecodeWindow(uint offset)
    {
        if (VbeEnabled)
        {
            return offset < 0x10000 ? _bankOffset + offset : -1;
        }

        switch ((_gr[6] >> 2) & 3)
        {
            case 0:
                return offset;
            case 1:
                return offset < 0x10000 ? _bankOffset + offset : -1;
            case 2:
                return offset is >= 0x10000 and < 0x18000 ? offset - 0x10000 : -1;
            default:
                return offset >= 0x18000 ? offset - 0x18000 : -1;
        }
    }

    private byte ReadByte(uint offset)
    {
        long addr = DecodeWindow(offset);
        if (addr < 0)
        {
            return 0xFF;
        }

        if (VbeEnabled || (_sr[4] & 0x08) != 0)
        {
            // Chain-4: the low two address bits select the plane, which in QEMU's layout is the linear byte.
            return (ulong)addr < _vramBytes ? LoadVram((ulong)addr) : (byte)0xFF;
        }

        if ((_gr[5] & 0x10) != 0)
        {
            // Odd/even (text mode): even addresses in plane 0 or 2, odd in plane 1 or 3.
            ulong at = ((ulong)(addr & ~1L) << 1) | (uint)((_gr[4] & 2) | (int)(addr & 1));
            return at < _vramBytes ? LoadVram(at) : (byte)0xFF;
        }

        ulong latchAt = (ulong)addr * 4;
        if (latchAt + 4 > _vramBytes)
        {
            return 0xFF;
        }

        Vram.EnsurePresent((int)(latchAt >> RamBlock.PageShift));
        _latch = Unsafe.ReadUnaligned<uint>(_vram + latchAt);
        if ((_gr[5] & 0x08) == 0)
        {
            // Read mode 0: the plane chosen by read map select.
            return (byte)(_latch >> (8 * (_gr[4] & 3)));
        }

        // Read mode 1: a 1 for each pixel whose planes (those in colour don't care) equal colour compare.
        uint diff = (_latch ^ Expand4(_gr[2])) & Expand4(_gr[7]);
        diff |= diff >> 16;
        diff |= diff >> 8;
        return (byte)~diff;
    }

    private void WriteByte(uint offset, byte value)
    {
        long addr = DecodeWindow(offset);
        if (addr < 0)
        {
            return;
        }

        if (VbeEnabled || (_sr[4] & 0x08) != 0)
        {
            int plane = (int)(addr & 3);
            if ((_sr[2] & (1 << plane)) != 0 && (ulong)addr < _vramBytes)
            {
                StoreVram((ulong)addr, value);
            }

            return;
        }

        if ((_gr[5] & 0x10) != 0)
        {
            int plane = (_gr[4] & 2) | (int)(addr & 1);
            ulong at = ((ulong)(addr & ~1L) << 1) | (uint)plane;
            if ((_sr[2] & (1 << plane)) != 0 && at < _vramBytes)
            {
                StoreVram(at, value);
            }

            return;
        }

        ulong latchAt = (ulong)addr * 4;
        if (latchAt + 4 > _vramBytes)
        {
            return;
        }

        uint planes = PlanarWriteValue(value);
        uint writeMask = Expand4(_sr[2]);
        Vram.EnsurePresent((int)(latchAt >> RamBlock.PageShift));
        uint* p = (uint*)(_vram + latchAt);
        *p = (*p & ~writeMask) | (planes & writeMask);
        Vram.DirtyLog.MarkPageDirty((int)(latchAt >> RamBlock.PageShift));
    }

    /// <summary>The four plane bytes a planar write stores: write modes 0–3, logical operation and bit mask.</summary>
    private uint PlanarWriteValue(byte value)
    {
        int rotate = _gr[3] & 7;
        uint bitMask;
        uint v;
        switch (_gr[5] & 3)
        {
            case 0:
                v = Replicate((byte)((value >> rotate) | (value << (8 - rotate))));
                uint setMask = Expand4(_gr[1]);
                v = (v & ~setMask) | (Expand4(_gr[0]) & setMask);
                bitMask = _gr[8];
                break;
            case 1:
                // The latches as they are: a fast copy inside vram.
                return _latch;
            case 2:
                v = Expand4(value & 0x0F);
                bitMask = _gr[8];
                break;
            default:
                byte rotated = (byte)((value >> rotate) | (value << (8 - rotate)));
                bitMask = (uint)(_gr[8] & rotated);
                v = Expand4(_gr[0]);
                break;
        }

        v = (_gr[3] >> 3) switch
        {
            0 => v,
            1 => v & _latch,
            2 => v | _latch,
            _ => v ^ _latch,
        };

        bitMask = Replicate((byte)bitMask);
        return (v & bitMask) | (_latch & ~bitMask);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Replicate(byte b) => b * 0x01010101u;

    private byte LoadVram(ulong at)
    {
        Vram.EnsurePresent((int)(at >> RamBlock.PageShift));
        return _vram[at];
    }

    private void StoreVram(ulong at, byte value)
    {
        int page = (int)(at >> RamBlock.PageShift);
        Vram.EnsurePresent(page);
        _vram[at] = value;
        Vram.DirtyLog.MarkPageDirty(page);
    }
}
