using Emu.Machine.State;

namespace Emu.Machine.Devices.Vga;

/// <summary>Save and load (QEMU vmstate_vga_common with the VBE registers); vram travels as the "vga.vram" RAM block.</summary>
public sealed partial class VgaDevice
{
    public static readonly VmStateDescription<VgaState> StateDescription = new(
        "vga",
        version: 1,
        minimumVersion: 1,
        empty: () => new VgaState(),
        fields: BuildFields(),
        validate: Validate);

    public VmStateDescription<VgaState> Vmsd => StateDescription;

    private static VmStateField<VgaState>[] BuildFields()
    {
        var fields = new List<VmStateField<VgaState>>
        {
            VmField.U32<VgaState>("latch", s => s.Latch, (s, v) => s with { Latch = v }),
            VmField.U8<VgaState>("sr_index", s => s.SrIndex, (s, v) => s with { SrIndex = v }),
            VmField.Buffer<VgaState>("sr", SrCount, s => s.Sr, (s, v) => s with { Sr = v }),
            VmField.U8<VgaState>("gr_index", s => s.GrIndex, (s, v) => s with { GrIndex = v }),
            VmField.Buffer<VgaState>("gr", GrCount, s => s.Gr, (s, v) => s with { Gr = v }),
            VmField.U8<VgaState>("ar_index", s => s.ArIndex, (s, v) => s with { ArIndex = v }),
            VmField.Buffer<VgaState>("ar", ArCount, s => s.Ar, (s, v) => s with { Ar = v }),
            VmField.U8<VgaState>("ar_flip_flop", s => s.ArFlipFlop, (s, v) => s with { ArFlipFlop = v }),
            VmField.U8<VgaState>("cr_index", s => s.CrIndex, (s, v) => s with { CrIndex = v }),
            VmField.Buffer<VgaState>("cr", CrCount, s => s.Cr, (s, v) => s with { Cr = v }),
            VmField.U8<VgaState>("msr", s => s.Msr, (s, v) => s with { Msr = v }),
            VmField.U8<VgaState>("fcr", s => s.Fcr, (s, v) => s with { Fcr = v }),
            VmField.U8<VgaState>("st00", s => s.St00, (s, v) => s with { St00 = v }),
            VmField.U8<VgaState>("st01", s => s.St01, (s, v) => s with { St01 = v }),
            VmField.U8<VgaState>("pel_mask", s => s.PelMask, (s, v) => s with { PelMask = v }),
            VmField.U8<VgaState>("dac_state", s => s.DacState, (s, v) => s with { DacState = v }),
            VmField.U8<VgaState>("dac_sub_index", s => s.DacSubIndex, (s, v) => s with { DacSubIndex = v }),
            VmField.U8<VgaState>("dac_read_index", s => s.DacReadIndex, (s, v) => s with { DacReadIndex = v }),
            VmField.U8<VgaState>("dac_write_index", s => s.DacWriteIndex, (s, v) => s with { DacWriteIndex = v }),
            VmField.Buffer<VgaState>("dac_cache", 3, s => s.DacCache, (s, v) => s with { DacCache = v }),
            VmField.Buffer<VgaState>("palette", PaletteBytes, s => s.Palette, (s, v) => s with { Palette = v }),
            VmField.U32<VgaState>("bank_offset", s => s.BankOffset, (s, v) => s with { BankOffset = v }),
            VmField.U16<VgaState>("vbe_index", s => s.VbeIndex, (s, v) => s with { VbeIndex = v }),
        };

        // vbe_regs[0..9] as QEMU's VMSTATE_UINT16_ARRAY: ten big-endian u16.
        for (int i = 0; i < VbeDispi.RegisterCount; i++)
        {
            int index = i;
            fields.Add(VmField.U16<VgaState>(
                $"vbe_regs[{index}]",
                s => s.VbeRegs[index],
                (s, v) =>
                {
                    ushort[] regs = (ushort[])s.VbeRegs.Clone();
                    regs[index] = v;
                    return s with { VbeRegs = regs };
                }));
        }

        return [.. fields];
    }

    /// <summary>Everything <see cref="Load"/> relies on: indices in range, a VBE mode that fits vram.</summary>
    private static string? Validate(VgaState s)
    {
        if (s.SrIndex >= SrCount || s.GrIndex >= GrCount || s.ArIndex >= 0x40)
        {
            return $"register index out of range: sr_index {s.SrIndex} (< {SrCount}), gr_index {s.GrIndex} (< {GrCount}), ar_index {s.ArIndex} (< 64)";
        }

        if (s.ArFlipFlop > 1 || s.DacSubIndex > 2 || s.DacState is not (0 or 3))
        {
            return $"ar_flip_flop {s.ArFlipFlop} (0 or 1), dac_sub_index {s.DacSubIndex} (0 to 2) or dac_state {s.DacState} (0 or 3) out of range";
        }

        ushort enable = s.VbeRegs[VbeDispi.IndexEnable];
        if ((enable & VbeDispi.Enabled) != 0)
        {
            int bpp = s.VbeRegs[VbeDispi.IndexBpp];
            int xres = s.VbeRegs[VbeDispi.IndexXRes];
            int yres = s.VbeRegs[VbeDispi.IndexYRes];
            int virtWidth = s.VbeRegs[VbeDispi.IndexVirtWidth];
            if (!VbeDispi.IsSupportedBpp(bpp) || xres is 0 or > VbeDispi.MaxXRes || yres is 0 or > VbeDispi.MaxYRes || virtWidth < xres)
            {
                return $"VBE mode {xres}x{yres}x{bpp} (virtual width {virtWidth}) is not a mode this VGA sets";
            }
        }

        if ((s.BankOffset & 0xFFFF) != 0 || s.BankOffset >> 16 != s.VbeRegs[VbeDispi.IndexBank])
        {
            return $"bank_offset 0x{s.BankOffset:x} does not match VBE bank {s.VbeRegs[VbeDispi.IndexBank]}";
        }

        return null;
    }

    public VgaState Save()
    {
        lock (_lock)
        {
            return new VgaState
            {
                Latch = _latch,
                SrIndex = _srIndex,
                Sr = (byte[])_sr.Clone(),
                GrIndex = _grIndex,
                Gr = (byte[])_gr.Clone(),
                ArIndex = _arIndex,
                Ar = (byte[])_ar.Clone(),
                ArFlipFlop = _arFlipFlop,
                CrIndex = _crIndex,
                Cr = (byte[])_cr.Clone(),
                Msr = _msr,
                Fcr = _fcr,
                St00 = _st00,
                St01 = _st01,
                PelMask = _pelMask,
                DacState = _dacState,
                DacSubIndex = _dacSubIndex,
                DacReadIndex = _dacReadIndex,
                DacWriteIndex = _dacWriteIndex,
                DacCache = (byte[])_dacCache.Clone(),
                Palette = (byte[])_palette.Clone(),
                BankOffset = _bankOffset,
                VbeIndex = _vbeIndex,
                VbeRegs = (ushort[])_vbeRegs.Clone(),
            };
        }
    }

    /// <summary>Applies a validated state. Checks what depends on this device's vram size, then touches nothing on failure.</summary>
    public void Load(VgaState state)
    {
        string? problem = Validate(state);
        if (problem == null && (state.BankOffset >> 16) > (uint)BankMask)
        {
            problem = $"VBE bank {state.BankOffset >> 16} is past vram (0x{_vramBytes:x} bytes)";
        }

        if (problem == null && (state.VbeRegs[VbeDispi.IndexEnable] & VbeDispi.Enabled) != 0)
        {
            int bytesPerPixel = VbeDispi.BytesPerPixel(state.VbeRegs[VbeDispi.IndexBpp]);
            long line = (long)state.VbeRegs[VbeDispi.IndexVirtWidth] * bytesPerPixel;
            long end = ((state.VbeRegs[VbeDispi.IndexYOffset] + (long)state.VbeRegs[VbeDispi.IndexYRes]) * line)
                + ((long)state.VbeRegs[VbeDispi.IndexXOffset] * bytesPerPixel);
            if (end > (long)_vramBytes)
            {
                problem = $"VBE framebuffer ends at 0x{end:x}, past vram (0x{_vramBytes:x} bytes)";
            }
        }

        if (problem != null)
        {
            throw new VmStateException($"state: 'vga': {problem}");
        }

        lock (_lock)
        {
            _latch = state.Latch;
            _srIndex = state.SrIndex;
            state.Sr.CopyTo(_sr, 0);
            _grIndex = state.GrIndex;
            state.Gr.CopyTo(_gr, 0);
            _arIndex = state.ArIndex;
            state.Ar.CopyTo(_ar, 0);
            _arFlipFlop = state.ArFlipFlop;
            _crIndex = state.CrIndex;
            state.Cr.CopyTo(_cr, 0);
            _msr = state.Msr;
            _fcr = state.Fcr;
            _st00 = state.St00;
            _st01 = state.St01;
            _pelMask = state.PelMask;
            _dacState = state.DacState;
            _dacSubIndex = state.DacSubIndex;
            _dacReadIndex = state.DacReadIndex;
            _dacWriteIndex = state.DacWriteIndex;
            state.DacCache.CopyTo(_dacCache, 0);
            state.Palette.CopyTo(_palette, 0);
            _bankOffset = state.BankOffset;
            _vbeIndex = state.VbeIndex;
            state.VbeRegs.CopyTo(_vbeRegs, 0);
            UpdateVbeGeometry();
            _registerGeneration++;
        }
    }
}
