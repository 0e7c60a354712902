namespace Emu.Machine.Devices.Vga;

/// <summary>The Bochs VBE DISPI registers (QEMU vbe_ioport_read_data / vbe_ioport_write_data / vbe_fixup_regs).</summary>
public sealed unsafe partial class VgaDevice
{
    private ushort ReadVbeData()
    {
        int index = _vbeIndex;
        if (index == VbeDispi.IndexVideoMemory64K)
        {
            return (ushort)(_vramBytes >> 16);
        }

        if (index >= VbeDispi.RegisterCount)
        {
            return 0;
        }

        if ((_vbeRegs[VbeDispi.IndexEnable] & VbeDispi.GetCaps) != 0)
        {
            switch (index)
            {
                case VbeDispi.IndexXRes:
                    return VbeDispi.MaxXRes;
                case VbeDispi.IndexYRes:
                    return VbeDispi.MaxYRes;
                case VbeDispi.IndexBpp:
                    return VbeDispi.MaxBpp;
            }
        }

        return _vbeRegs[index];
    }

    private void WriteVbeData(ushort value)
    {
        switch (_vbeIndex)
        {
            case VbeDispi.IndexId:
                if (value >= VbeDispi.Id0 && value <= VbeDispi.Id5)
                {
                    _vbeRegs[VbeDispi.IndexId] = value;
                }

                break;
            case VbeDispi.IndexXRes or VbeDispi.IndexYRes or VbeDispi.IndexBpp or VbeDispi.IndexVirtWidth
                or VbeDispi.IndexXOffset or VbeDispi.IndexYOffset:
                _vbeRegs[_vbeIndex] = value;
                FixupVbeRegisters();
                break;
            case VbeDispi.IndexBank:
                ushort bank = (ushort)(value & BankMask);
                _vbeRegs[VbeDispi.IndexBank] = bank;
                _bankOffset = (uint)bank << 16;
                break;
            case VbeDispi.IndexEnable:
                WriteVbeEnable(value);
                break;
        }
    }

    private int BankMask => (int)(_vramBytes >> 16) - 1;

    private void WriteVbeEnable(ushort value)
    {
        bool wasEnabled = VbeEnabled;
        if ((value & VbeDispi.Enabled) != 0 && !wasEnabled)
        {
            _vbeRegs[VbeDispi.IndexVirtWidth] = _vbeRegs[VbeDispi.IndexXRes];
            _vbeRegs[VbeDispi.IndexXOffset] = 0;
            _vbeRegs[VbeDispi.IndexYOffset] = 0;
            _vbeRegs[VbeDispi.IndexEnable] = (ushort)(_vbeRegs[VbeDispi.IndexEnable] | VbeDispi.Enabled);
            FixupVbeRegisters();
            if ((value & VbeDispi.NoClearMem) == 0)
            {
                ulong clear = (ulong)_vbeRegs[VbeDispi.IndexVirtHeight] * (ulong)_vbeLineOffset;
                new Span<byte>(_vram, (int)Math.Min(clear, _vramBytes)).Clear();
                Vram.DirtyLog.MarkRangeDirty(0, Math.Min(clear, _vramBytes));
            }

            // Legacy code then sees a chained graphics mode with the 64 KiB bank window at 0xA0000 (as QEMU
            // vbe_update_vgaregs), so the banked window and a later mode query behave.
            _gr[6] = (byte)((_gr[6] & ~0x0C) | 0x05);
            _sr[4] |= 0x08;
        }
        else if ((value & VbeDispi.Enabled) == 0)
        {
            _bankOffset = 0;
            _vbeRegs[VbeDispi.IndexBank] = 0;
        }

        _vbeRegs[VbeDispi.IndexEnable] = value;
        UpdateVbeGeometry();
    }

    /// <summary>QEMU vbe_fixup_regs: clamp resolution, depth, virtual size and panning to what vram holds.</summary>
    private void FixupVbeRegisters()
    {
        ushort[] r = _vbeRegs;
        if (!VbeDispi.IsSupportedBpp(r[VbeDispi.IndexBpp]))
        {
            r[VbeDispi.IndexBpp] = 8;
        }

        r[VbeDispi.IndexXRes] = (ushort)(Math.Clamp((int)r[VbeDispi.IndexXRes], 8, VbeDispi.MaxXRes) & ~7);
        r[VbeDispi.IndexYRes] = (ushort)Math.Clamp((int)r[VbeDispi.IndexYRes], 1, VbeDispi.MaxYRes);
        if (r[VbeDispi.IndexVirtWidth] < r[VbeDispi.IndexXRes])
        {
            r[VbeDispi.IndexVirtWidth] = r[VbeDispi.IndexXRes];
        }

        int bytesPerPixel = VbeDispi.BytesPerPixel(r[VbeDispi.IndexBpp]);
        long lineBytes = (long)r[VbeDispi.IndexVirtWidth] * bytesPerPixel;
        long maxLines = (long)_vramBytes / lineBytes;
        if (maxLines < r[VbeDispi.IndexYRes])
        {
            // Too wide for vram: fall back to the visible width, then to fewer lines.
            r[VbeDispi.IndexVirtWidth] = r[VbeDispi.IndexXRes];
            lineBytes = (long)r[VbeDispi.IndexXRes] * bytesPerPixel;
            maxLines = (long)_vramBytes / lineBytes;
            if (maxLines < r[VbeDispi.IndexYRes])
            {
                r[VbeDispi.IndexYRes] = (ushort)maxLines;
            }
        }

        r[VbeDispi.IndexVirtHeight] = (ushort)Math.Min(maxLines, ushort.MaxValue);
        r[VbeDispi.IndexXOffset] = (ushort)Math.Min((int)r[VbeDispi.IndexXOffset], r[VbeDispi.IndexVirtWidth] - r[VbeDispi.IndexXRes]);
        r[VbeDispi.IndexYOffset] = (ushort)Math.Min((int)r[VbeDispi.IndexYOffset], r[VbeDispi.IndexVirtHeight] - r[VbeDispi.IndexYRes]);
        UpdateVbeGeometry();
    }

    /// <summary>Recomputes the framebuffer start and line length from the registers (QEMU vbe_start_addr/vbe_line_offset).</summary>
    private void UpdateVbeGeometry()
    {
        int bpp = VbeDispi.IsSupportedBpp(_vbeRegs[VbeDispi.IndexBpp]) ? _vbeRegs[VbeDispi.IndexBpp] : 8;
        int bytesPerPixel = VbeDispi.BytesPerPixel(bpp);
        _vbeLineOffset = _vbeRegs[VbeDispi.IndexVirtWidth] * bytesPerPixel;
        _vbeStartOffset = (_vbeRegs[VbeDispi.IndexYOffset] * _vbeLineOffset) + (_vbeRegs[VbeDispi.IndexXOffset] * bytesPerPixel);
    }
}
