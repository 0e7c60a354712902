using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// String instructions with every REP form and 16/32-bit address sizes (QEMU translate.c gen_repz_*). A REP
/// runs to completion inside one instruction; registers advance per element, so a fault mid-way restarts at
/// the element that faulted, as on hardware.
/// </summary>
public sealed partial class X86Cpu
{
    private void StringOp(in Instruction ins)
    {
        Mnemonic m = ins.Mnemonic;
        int size = m switch
        {
            Mnemonic.Movsb or Mnemonic.Cmpsb or Mnemonic.Stosb or Mnemonic.Lodsb or Mnemonic.Scasb or Mnemonic.Insb or Mnemonic.Outsb => 1,
            Mnemonic.Movsw or Mnemonic.Cmpsw or Mnemonic.Stosw or Mnemonic.Lodsw or Mnemonic.Scasw or Mnemonic.Insw or Mnemonic.Outsw => 2,
            _ => 4,
        };
        bool addr32 = StringAddress32(in ins);
        uint amask = addr32 ? 0xFFFF_FFFF : 0xFFFF;
        int srcSeg = SegIndex(ins.MemorySegment);
        bool rep = ins.HasRepPrefix || ins.HasRepnePrefix;
        bool compare = m is Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd;
        uint delta = (_eflags & FlagDf) != 0 ? (uint)-size : (uint)size;
        bool isIo = m is Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd or Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd;
        if (isIo && !IoPermitted((ushort)_gpr[RegEdx], size))
        {
            return;
        }

        while (true)
        {
            if (rep && (_gpr[RegEcx] & amask) == 0)
            {
                return;
            }

            uint si = _gpr[RegEsi] & amask;
            uint di = _gpr[RegEdi] & amask;
            bool advanceSi = false, advanceDi = false;
            switch (m)
            {
                case Mnemonic.Movsb:
                case Mnemonic.Movsw:
                case Mnemonic.Movsd:
                    {
                        uint v = ReadSeg(srcSeg, si, size);
                        if (_faultVector >= 0)
                        {
                            return;
                        }

                        WriteSeg(SegEs, di, size, v);
                        advanceSi = advanceDi = true;
                        break;
                    }

                case Mnemonic.Stosb:
                case Mnemonic.Stosw:
                case Mnemonic.Stosd:
                    WriteSeg(SegEs, di, size, _gpr[RegEax]);
                    advanceDi = true;
                    break;
                case Mnemonic.Lodsb:
                case Mnemonic.Lodsw:
                case Mnemonic.Lodsd:
                    {
                        uint v = ReadSeg(srcSeg, si, size);
                        if (_faultVector >= 0)
                        {
                            return;
                        }

                        WriteReg(size == 1 ? Register.AL : size == 2 ? Register.AX : Register.EAX, v);
                        advanceSi = true;
                        break;
                    }

                case Mnemonic.Cmpsb:
                case Mnemonic.Cmpsw:
                case Mnemonic.Cmpsd:
                    {
                        uint a = ReadSeg(srcSeg, si, size);
                        uint b = ReadSeg(SegEs, di, size);
                        if (_faultVector >= 0)
                        {
                            return;
                        }

                        SetLazy(CcOp.Sub, (a - b) & MaskOf(size), a, b, SignOf(size));
                        advanceSi = advanceDi = true;
                        break;
                    }

                case Mnemonic.Scasb:
                case Mnemonic.Scasw:
                case Mnemonic.Scasd:
                    {
                        uint a = _gpr[RegEax] & MaskOf(size);
                        uint b = ReadSeg(SegEs, di, size);
                        if (_faultVector >= 0)
                        {
                            return;
                        }

                        SetLazy(CcOp.Sub, (a - b) & MaskOf(size), a, b, SignOf(size));
                        advanceDi = true;
                        break;
                    }

                case Mnemonic.Insb:
                case Mnemonic.Insw:
                case Mnemonic.Insd:
                    {
                        if (!ProbeWriteSeg(SegEs, di, size))
                        {
                            return;
                        }

                        uint v = _io.Read((ushort)_gpr[RegEdx], size);
                        WriteSeg(SegEs, di, size, v);
                        advanceDi = true;
                        break;
                    }

                default:
                    {
                        uint v = ReadSeg(srcSeg, si, size);
                        if (_faultVector >= 0)
                        {
                            return;
                        }

                        _io.Write((ushort)_gpr[RegEdx], size, v & MaskOf(size));
                        advanceSi = true;
                        break;
                    }
            }

            if (_faultVector >= 0)
            {
                return;
            }

            if (advanceSi)
            {
                _gpr[RegEsi] = (_gpr[RegEsi] & ~amask) | ((si + delta) & amask);
            }

            if (advanceDi)
            {
                _gpr[RegEdi] = (_gpr[RegEdi] & ~amask) | ((di + delta) & amask);
            }

            if (!rep)
            {
                return;
            }

            _gpr[RegEcx] = (_gpr[RegEcx] & ~amask) | ((_gpr[RegEcx] - 1) & amask);
            if (compare)
            {
                bool zf = GetZf();
                if ((ins.HasRepePrefix && !zf) || (ins.HasRepnePrefix && zf))
                {
                    return;
                }
            }
        }
    }

    private static bool StringAddress32(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.MemorySegESI:
                case OpKind.MemorySegEDI:
                case OpKind.MemoryESEDI:
                    return true;
                case OpKind.MemorySegSI:
                case OpKind.MemorySegDI:
                case OpKind.MemoryESDI:
                    return false;
            }
        }

        return false;
    }
}
