using Emu.Machine.Cpu.Cache;
using Iced.Intel;

namespace Emu.Machine.Cpu.Translation;

/// <summary>
/// The block translator (ARMeilleure's Translator, QEMU's translator_loop): decodes a straight run of guest code
/// with Iced, lowers it to micro-ops (<see cref="MicroOpLowering"/>) and runs flag liveness over them
/// (<see cref="FlagLiveness"/>). It reads guest code only through its fetch function, so it works over a byte
/// array as well as over a CPU's code TLB. One per vCPU: it reuses its decoders and scratch buffer.
/// </summary>
internal sealed class BlockTranslator
{
    /// <summary>The architectural limit: a longer instruction is #GP.</summary>
    private const int MaxInstructionBytes = 15;

    private readonly GuestCodeReader _reader;
    private readonly Decoder _decoder16;
    private readonly Decoder _decoder32;
    private readonly int _maxInstructions;
    private readonly bool _fastOps;
    private readonly Instruction[] _scratch;

    /// <param name="fetch">Reads one code byte at a linear address (second argument: may raise its fault); -1 when it cannot.</param>
    /// <param name="options">Block length and whether common forms get fast micro-ops.</param>
    public BlockTranslator(Func<uint, bool, int> fetch, CpuOptions options)
    {
        _reader = new GuestCodeReader(fetch);
        _decoder16 = Decoder.Create(16, _reader, DecoderOptions.None);
        _decoder32 = Decoder.Create(32, _reader, DecoderOptions.None);
        _maxInstructions = Math.Max(1, options.MaxBlockInstructions);
        _fastOps = options.FastOps;
        _scratch = new Instruction[_maxInstructions];
    }

    /// <summary>
    /// Translates the block at <paramref name="csBase"/>:<paramref name="eip"/>. It ends after control flow or an
    /// instruction that changes how later ones decode or take interrupts (<see cref="EndsBlock"/>), at the end of
    /// the page, after an instruction that runs into the next page, where the next page cannot be fetched, or at
    /// the block length limit. Only the first instruction's fetch may raise a fault.
    /// </summary>
    public TranslationOutcome Translate(uint csBase, uint eip, bool code32, out DecodedRun run)
    {
        Decoder decoder = code32 ? _decoder32 : _decoder16;
        uint linear = csBase + eip;
        uint pageEnd = (linear & 0xFFFF_F000) + 0x1000;
        uint ip = eip;
        uint at = linear;
        int count = 0;
        bool crosses = false;
        while (count < _maxInstructions)
        {
            bool nearWrap = !code32 && ip is > 0xFFF0 and <= 0xFFFF;
            if (nearWrap)
            {
                _reader.Reset16(csBase, ip, MaxInstructionBytes);
            }
            else
            {
                _reader.Reset(at, MaxInstructionBytes);
            }

            _reader.RaiseFaults = count == 0;
            decoder.IP = ip;
            decoder.Decode(out _scratch[count]);
            ref Instruction ins = ref _scratch[count];
            if (ins.IsInvalid && decoder.LastError == DecoderError.NoMoreBytes)
            {
                if (count == 0)
                {
                    run = default;
                    return _reader.FetchFailed ? TranslationOutcome.FetchFaulted : TranslationOutcome.InstructionTooLong;
                }

                break;
            }

            int len = _reader.Consumed;
            count++;
            uint nextAt = at + (uint)len;
            if (nextAt > pageEnd)
            {
                crosses = true;
            }

            // An instruction that wrapped past IP 0xFFFF ends the block: the next one starts at the segment's start.
            if (ins.IsInvalid || EndsBlock(in ins) || crosses || nextAt >= pageEnd || (nearWrap && ip + (uint)len > 0xFFFF))
            {
                break;
            }

            at = nextAt;
            ip += (uint)len;
        }

        Instruction[] instructions = _scratch.AsSpan(0, count).ToArray();
        var ops = new MicroOp[count];
        for (int i = 0; i < count; i++)
        {
            ops[i] = MicroOpLowering.Lower(in instructions[i], (ushort)(instructions[i].IP32 - eip), code32, _fastOps);
        }

        run = new DecodedRun(instructions, ops, FlagLiveness.DropDeadFlags(ops), crosses);
        return TranslationOutcome.Translated;
    }

    /// <summary>Instructions after which the block must end: control flow, and state changes that affect decoding or interrupts.</summary>
    private static bool EndsBlock(in Instruction ins)
    {
        if (ins.FlowControl != FlowControl.Next)
        {
            return true;
        }

        switch (ins.Mnemonic)
        {
            case Mnemonic.Hlt:
            case Mnemonic.Sti:
            case Mnemonic.Popf:
            case Mnemonic.Popfd:
            case Mnemonic.Lmsw:
            case Mnemonic.Clts:
            case Mnemonic.Invlpg:
            case Mnemonic.Wrmsr:
            case Mnemonic.Lldt:
            case Mnemonic.Ltr:
            case Mnemonic.Out:
            case Mnemonic.Outsb:
            case Mnemonic.Outsw:
            case Mnemonic.Outsd:
                return true;
            case Mnemonic.Mov:
                return ins.Op0Kind == OpKind.Register && (ins.Op0Register == Register.SS || ins.Op0Register.IsCR() || ins.Op0Register.IsDR());
            case Mnemonic.Pop:
                return ins.Op0Kind == OpKind.Register && ins.Op0Register == Register.SS;
            default:
                return false;
        }
    }
}
