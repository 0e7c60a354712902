using Emu.Machine.Cpu.State;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// System instructions (QEMU misc_helper.c, seg_helper.c): port I/O with the IOPL/TSS bitmap check, descriptor
/// table registers, LLDT/LTR, control registers, LMSW/SMSW, INVLPG, CPUID, RDTSC, RDMSR/WRMSR, LAR/LSL/VERR/VERW/ARPL.
/// </summary>
public sealed partial class X86Cpu
{
    internal const uint MsrTsc = 0x10, MsrApicBase = 0x1B, MsrUcodeRev = 0x8B, MsrEfer = 0xC000_0080;

    /// <summary>IA32_BIOS_SIGN_ID: microcode revision 1 in the high dword, as QEMU reports.</summary>
    internal const ulong UcodeRevision = 1UL << 32;

    /// <summary>I/O permission (QEMU check_io): CPL ≤ IOPL, else the TSS I/O bitmap must clear every bit of the access.</summary>
    private bool IoPermitted(ushort port, int size)
    {
        if (!ProtectedMode || (!Vm86 && _cpl <= IoplOf()))
        {
            return true;
        }

        int trType = (int)((_tr.Flags >> 8) & 0xF);
        if ((trType & 8) == 0 || _tr.Limit < 103)
        {
            RaiseFault(ExceptionGp, 0);
            return false;
        }

        uint bitmap = ReadSys(_tr.Base + 0x66, 2);
        uint at = bitmap + (uint)(port >> 3);
        if (at + 1 > _tr.Limit)
        {
            RaiseFault(ExceptionGp, 0);
            return false;
        }

        uint bits = ReadSys(_tr.Base + at, 2);
        uint mask = ((1u << size) - 1) << (port & 7);
        if ((bits & mask) != 0)
        {
            RaiseFault(ExceptionGp, 0);
            return false;
        }

        return _faultVector < 0;
    }

    private void In(in Instruction ins)
    {
        int size = RegSize(ins.Op0Register);
        ushort port = ins.Op1Kind == OpKind.Register ? (ushort)_gpr[RegEdx] : ins.Immediate8;
        if (IoPermitted(port, size))
        {
            WriteReg(ins.Op0Register, _io.Read(port, size));
        }
    }

    private void Out(in Instruction ins)
    {
        int size = RegSize(ins.Op1Register);
        ushort port = ins.Op0Kind == OpKind.Register ? (ushort)_gpr[RegEdx] : ins.Immediate8;
        if (IoPermitted(port, size))
        {
            _io.Write(port, size, ReadReg(ins.Op1Register));

            // A port write can remap memory (the 440FX's PAM registers, a PCI BAR): end the block so the run loop
            // flushes the TLB and the block cache before the next access.
            if (_memory.Generation != _memoryGeneration)
            {
                _blockExit = true;
            }
        }
    }

    private void LoadDescriptorTable(in Instruction ins)
    {
        if (!CheckCpl0())
        {
            return;
        }

        int seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        uint limit = ReadSeg(seg, ea, 2);
        uint baseAddress = ReadSeg(seg, (ea + 2) & (AddressIs32(in ins) ? 0xFFFF_FFFF : 0xFFFF), 4);
        if (_faultVector >= 0)
        {
            return;
        }

        if (CodeOperandSize(ins.Code) == 16 || (!_code32 && CodeOperandSize(ins.Code) == 0))
        {
            baseAddress &= 0x00FF_FFFF;
        }

        if (ins.Mnemonic == Mnemonic.Lgdt)
        {
            _gdtBase = baseAddress;
            _gdtLimit = limit;
        }
        else
        {
            _idtBase = baseAddress;
            _idtLimit = limit;
        }
    }

    private void StoreDescriptorTable(in Instruction ins)
    {
        int seg = SegIndex(ins.MemorySegment);
        uint ea = EffectiveAddress(in ins);
        bool gdt = ins.Mnemonic == Mnemonic.Sgdt;
        if (!ProbeWriteSeg(seg, ea, 6))
        {
            return;
        }

        WriteSeg(seg, ea, 2, gdt ? _gdtLimit : _idtLimit);
        WriteSeg(seg, (ea + 2) & (AddressIs32(in ins) ? 0xFFFF_FFFF : 0xFFFF), 4, gdt ? _gdtBase : _idtBase);
    }

    private void StoreSystemSelector(in Instruction ins, ushort selector)
    {
        if (!ProtectedMode || Vm86)
        {
            RaiseFault(ExceptionUd);
            return;
        }

        WriteOp(in ins, 0, ins.Op0Kind == OpKind.Register ? RegSize(ins.Op0Register) : 2, selector);
    }

    private void Lldt(in Instruction ins)
    {
        if (!ReadSelectorOperand(in ins, 0, out ushort sel) || !CheckCpl0())
        {
            return;
        }

        LoadLdtr(sel, ExceptionGp);
    }

    /// <summary>
    /// Loads LDTR from a GDT selector (LLDT, and a task switch with <paramref name="badSelectorVector"/> = #TS):
    /// null empties it; anything but a present LDT descriptor faults.
    /// </summary>
    private bool LoadLdtr(ushort sel, int badSelectorVector)
    {
        if ((sel & 0xFFFC) == 0)
        {
            _ldtr = default;
            return true;
        }

        if ((sel & 4) != 0)
        {
            RaiseFault(badSelectorVector, sel & 0xFFFCu);
            return false;
        }

        if (!ReadDescriptor(sel, out uint lo, out uint hi, out _))
        {
            return false;
        }

        if ((hi & SegmentCache.FlagS) != 0 || ((hi >> 8) & 0xF) != 2)
        {
            RaiseFault(badSelectorVector, sel & 0xFFFCu);
            return false;
        }

        if ((hi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, sel & 0xFFFCu);
            return false;
        }

        _ldtr = new SegmentCache { Selector = sel, Base = DescriptorBase(lo, hi), Limit = DescriptorLimit(lo, hi), Flags = hi & SegmentCache.FlagsMask };
        return true;
    }

    private void Ltr(in Instruction ins)
    {
        if (!ReadSelectorOperand(in ins, 0, out ushort sel) || !CheckCpl0())
        {
            return;
        }

        if ((sel & 0xFFFC) == 0 || (sel & 4) != 0)
        {
            RaiseFault(ExceptionGp, sel & 0xFFFCu);
            return;
        }

        if (!ReadDescriptor(sel, out uint lo, out uint hi, out uint address))
        {
            return;
        }

        uint type = (hi >> 8) & 0xF;
        if ((hi & SegmentCache.FlagS) != 0 || (type != 1 && type != 9))
        {
            RaiseFault(ExceptionGp, sel & 0xFFFCu);
            return;
        }

        if ((hi & SegmentCache.FlagP) == 0)
        {
            RaiseFault(ExceptionNp, sel & 0xFFFCu);
            return;
        }

        // Mark the TSS busy in the GDT and in the cache.
        hi |= 2u << 8;
        WriteSys(address + 4, 4, hi);
        _tr = new SegmentCache { Selector = sel, Base = DescriptorBase(lo, hi), Limit = DescriptorLimit(lo, hi), Flags = hi & SegmentCache.FlagsMask };
    }

    internal uint ReadCr(Register cr) => cr switch
    {
        Register.CR0 => _cr0,
        Register.CR2 => _cr2,
        Register.CR3 => _cr3,
        Register.CR4 => _cr4,
        _ => 0,
    };

    private void MovToCr(Register cr, uint value)
    {
        if (!CheckCpl0())
        {
            return;
        }

        switch (cr)
        {
            case Register.CR0:
                SetCr0(value);
                break;
            case Register.CR2:
                _cr2 = value;
                break;
            case Register.CR3:
                _cr3 = value;
                FlushTlb();
                break;
            case Register.CR4:
                // VME and PVI are not implemented (CPUID says so): setting them is #GP as on a CPU without them.
                if ((value & ~(Cr4Tsd | Cr4De | Cr4Pse | Cr4Pae | Cr4Pge | 0x600u)) != 0)
                {
                    RaiseFault(ExceptionGp, 0);
                    return;
                }

                _cr4 = value;
                FlushTlb();
                break;
            default:
                RaiseFault(ExceptionUd);
                return;
        }

        _blockExit = true;
    }

    /// <summary>CR0 write (QEMU cpu_x86_update_cr0): PG without PE is #GP; paging or WP changes flush the TLB.</summary>
    private void SetCr0(uint value)
    {
        value |= Cr0Et;
        if ((value & Cr0Pg) != 0 && (value & Cr0Pe) == 0)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        uint old = _cr0;
        _cr0 = value;
        if (((old ^ value) & (Cr0Pg | Cr0Wp | Cr0Pe)) != 0)
        {
            FlushTlb();
        }

        if (((old ^ value) & Cr0Pe) != 0)
        {
            if ((value & Cr0Pe) == 0)
            {
                _cpl = 0;
            }

            // Segment caches keep their contents across the switch; only the access shortcuts change.
            for (int s = 0; s < 6; s++)
            {
                _seg[s].Refresh(usable: true, protectedMode: (value & Cr0Pe) != 0);
            }

            UpdateMode();
        }

        _blockExit = true;
    }

    private void Lmsw(in Instruction ins)
    {
        uint v = ReadOp(in ins, 0, 2);
        if (_faultVector >= 0 || !CheckCpl0())
        {
            return;
        }

        // LMSW sets PE but cannot clear it.
        SetCr0((_cr0 & ~0xEu) | (v & 0xF) | (_cr0 & Cr0Pe));
    }

    private void Smsw(in Instruction ins)
    {
        int size = ins.Op0Kind == OpKind.Register ? RegSize(ins.Op0Register) : 2;
        WriteOp(in ins, 0, size, size == 4 ? _cr0 : _cr0 & 0xFFFF);
    }

    private void Invlpg(in Instruction ins)
    {
        if (!CheckCpl0())
        {
            return;
        }

        FlushTlbPage(_seg[SegIndex(ins.MemorySegment)].Base + EffectiveAddress(in ins));
    }

    /// <summary>CPUID (QEMU cpu_x86_cpuid) for a P6-class part with the features of <see cref="CpuidFeatures"/>.</summary>
    private void Cpuid()
    {
        uint leaf = _gpr[RegEax];
        switch (leaf)
        {
            case 0:
                _gpr[RegEax] = 1;
                _gpr[RegEbx] = 0x756E_6547; // "Genu"
                _gpr[RegEdx] = 0x4965_6E69; // "ineI"
                _gpr[RegEcx] = 0x6C65_746E; // "ntel"
                break;
            case 1:
                _gpr[RegEax] = CpuidSignature;
                _gpr[RegEbx] = 0;
                _gpr[RegEcx] = 0;
                _gpr[RegEdx] = CpuidFeatures | (_localApic != null ? CpuidApic : 0);
                break;
            default:
                _gpr[RegEax] = _gpr[RegEbx] = _gpr[RegEcx] = _gpr[RegEdx] = 0;
                break;
        }
    }

    private ulong ReadTsc()
    {
        Func<ulong>? source = TscSource;
        return (source != null ? source() : (ulong)_retired) + _tscOffset;
    }

    private void Rdtsc()
    {
        if ((_cr4 & Cr4Tsd) != 0 && _cpl != 0 && ProtectedMode)
        {
            RaiseFault(ExceptionGp, 0);
            return;
        }

        ulong t = ReadTsc();
        _gpr[RegEax] = (uint)t;
        _gpr[RegEdx] = (uint)(t >> 32);
    }

    private void Rdmsr()
    {
        if (!CheckCpl0())
        {
            return;
        }

        ulong v;
        switch (_gpr[RegEcx])
        {
            case MsrTsc:
                v = ReadTsc();
                break;
            case MsrApicBase:
                v = _apicBase;
                break;
            case MsrUcodeRev:
                v = UcodeRevision;
                break;
            case MsrEfer:
                v = _efer;
                break;
            default:
                RaiseFault(ExceptionGp, 0);
                return;
        }

        _gpr[RegEax] = (uint)v;
        _gpr[RegEdx] = (uint)(v >> 32);
    }

    private void Wrmsr()
    {
        if (!CheckCpl0())
        {
            return;
        }

        ulong v = ((ulong)_gpr[RegEdx] << 32) | _gpr[RegEax];
        switch (_gpr[RegEcx])
        {
            case MsrTsc:
                _tscOffset = v - (ReadTsc() - _tscOffset);
                break;
            case MsrApicBase:
                // The BSP flag (bit 8) is read-only.
                _apicBase = (v & 0xFFFF_F800) | (_apicBase & 0x100);
                _localApic?.ApicBaseChanged(_apicBase);
                break;
            case MsrUcodeRev:
                // Software writes 0 and runs CPUID to have the revision latched (Linux's intel_get_microcode_revision); it reads back fixed.
                break;
            case MsrEfer:
                if (v != 0)
                {
                    RaiseFault(ExceptionGp, 0);
                    return;
                }

                _efer = v;
                break;
            default:
                RaiseFault(ExceptionGp, 0);
                return;
        }
    }

    /// <summary>The selector operand of LLDT/LTR/LAR/LSL/VERR/VERW: #UD outside protected mode.</summary>
    private bool ReadSelectorOperand(in Instruction ins, int operand, out ushort selector)
    {
        selector = 0;
        if (!ProtectedMode || Vm86)
        {
            RaiseFault(ExceptionUd);
            return false;
        }

        selector = (ushort)ReadOp(in ins, operand, 2);
        return _faultVector < 0;
    }

    /// <summary>LAR/LSL: ZF=1 and the access rights or limit when the descriptor is visible at CPL/RPL.</summary>
    private void LarLsl(in Instruction ins, bool lar)
    {
        if (!ReadSelectorOperand(in ins, 1, out ushort sel))
        {
            return;
        }

        MaterializeFlags();
        if (!DescriptorVisible(sel, lar, out uint lo, out uint hi))
        {
            _eflags &= ~FlagZf;
            return;
        }

        int size = RegSize(ins.Op0Register);
        uint v = lar ? hi & 0x00F0_FF00 : DescriptorLimit(lo, hi);
        WriteReg(ins.Op0Register, v & MaskOf(size));
        _eflags |= FlagZf;
    }

    private bool DescriptorVisible(ushort sel, bool lar, out uint lo, out uint hi)
    {
        lo = hi = 0;
        if ((sel & 0xFFFC) == 0)
        {
            return false;
        }

        int savedFault = _faultVector;
        if (!ReadDescriptor(sel, out lo, out hi, out _))
        {
            if (savedFault < 0 && _faultVector == ExceptionGp)
            {
                // A selector beyond the table limit just clears ZF.
                _faultVector = -1;
                _blockExit = false;
            }

            return false;
        }

        int dpl = (int)((hi >> 13) & 3);
        bool system = (hi & SegmentCache.FlagS) == 0;
        int type = (int)((hi >> 8) & 0xF);
        if (system)
        {
            bool ok = lar ? type is 1 or 2 or 3 or 4 or 5 or 9 or 11 or 12 : type is 1 or 2 or 3 or 9 or 11;
            if (!ok)
            {
                return false;
            }
        }

        bool conformingCode = !system && (type & 0xC) == 0xC;
        return conformingCode || (dpl >= _cpl && dpl >= (sel & 3));
    }

    private void Verify(in Instruction ins, bool write)
    {
        if (!ReadSelectorOperand(in ins, 0, out ushort sel))
        {
            return;
        }

        MaterializeFlags();
        bool ok = DescriptorVisible(sel, lar: true, out _, out uint hi) && (hi & SegmentCache.FlagS) != 0;
        if (ok)
        {
            bool code = (hi & SegmentCache.TypeCode) != 0;
            ok = write ? !code && (hi & SegmentCache.TypeWritable) != 0 : !code || (hi & SegmentCache.TypeWritable) != 0;
        }

        _eflags = ok ? _eflags | FlagZf : _eflags & ~FlagZf;
    }

    private void Arpl(in Instruction ins)
    {
        if (!ProtectedMode || Vm86)
        {
            RaiseFault(ExceptionUd);
            return;
        }

        uint dst = ReadOp(in ins, 0, 2);
        uint src = ReadOp(in ins, 1, 2);
        if (_faultVector >= 0)
        {
            return;
        }

        MaterializeFlags();
        if ((dst & 3) < (src & 3))
        {
            WriteOp(in ins, 0, 2, (dst & ~3u) | (src & 3));
            if (_faultVector < 0)
            {
                _eflags |= FlagZf;
            }
        }
        else
        {
            _eflags &= ~FlagZf;
        }
    }
}
