using Emu.Machine.Cpu;
using Emu.Machine.Cpu.Cache;
using Emu.Machine.Cpu.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu.Translation;

/// <summary>The block translator alone, over guest code in a byte array: where blocks end, how they decode, what they lower to.</summary>
public sealed class BlockTranslatorTests
{
    private const uint CodeBase = 0x1000;

    /// <summary>Guest code at linear <see cref="CodeBase"/>; bytes outside it cannot be fetched (as an unmapped page).</summary>
    private sealed class CodeImage(byte[] bytes)
    {
        /// <summary>Fetches outside the image that were allowed to raise their fault.</summary>
        public int RaisedFaults { get; private set; }

        public int Fetch(uint linear, bool raise)
        {
            uint offset = linear - CodeBase;
            if (offset < bytes.Length)
            {
                return bytes[offset];
            }

            if (raise)
            {
                RaisedFaults++;
            }

            return -1;
        }
    }

    private static byte[] Assemble(int bitness, uint ip, Action<Assembler> code)
    {
        var a = new Assembler(bitness);
        code(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), ip);
        return stream.ToArray();
    }

    /// <summary><paramref name="padding"/> NOPs, then <paramref name="code"/> assembled after them.</summary>
    private static byte[] Assembled(int bitness, int padding, Action<Assembler> code) =>
        [.. Enumerable.Repeat((byte)0x90, padding), .. Assemble(bitness, CodeBase + (uint)padding, code)];

    private static TranslationOutcome Translate(byte[] bytes, uint eip, bool code32, out DecodedRun run, CpuOptions? options = null) =>
        new BlockTranslator(new CodeImage(bytes).Fetch, options ?? CpuOptions.Default).Translate(CodeBase, eip, code32, out run);

    private static DecodedRun Translated(byte[] bytes, uint eip = 0, bool code32 = true, CpuOptions? options = null)
    {
        Assert.Equal(TranslationOutcome.Translated, Translate(bytes, eip, code32, out DecodedRun run, options));
        return run;
    }

    private static Mnemonic[] Mnemonics(DecodedRun run) => [.. run.Instructions.Select(i => i.Mnemonic)];

    private static MicroOpKind[] Kinds(MicroOp[] ops) => [.. ops.Select(o => o.Kind)];

    [Fact]
    public void ABlockEndsAfterItsFirstControlTransfer()
    {
        DecodedRun run = Translated(Assembled(32, 0, a =>
        {
            Label target = a.CreateLabel();
            a.mov(eax, 1);
            a.add(eax, ebx);
            a.Label(ref target);
            a.jne(target);
            a.nop();
        }));
        Assert.Equal([Mnemonic.Mov, Mnemonic.Add, Mnemonic.Jne], Mnemonics(run));
        Assert.Equal([0, 5, 7], run.Ops.Select(o => (int)o.Offset));
        Assert.False(run.CrossesPage);
    }

    [Theory]
    [InlineData(new byte[] { 0x90, 0xF4, 0x90 }, 2)]             // nop; hlt
    [InlineData(new byte[] { 0x90, 0x8E, 0xD0, 0x90 }, 2)]       // nop; mov ss,ax: interrupts wait one instruction
    [InlineData(new byte[] { 0x17, 0x90 }, 1)]                   // pop ss
    [InlineData(new byte[] { 0xFB, 0x90 }, 1)]                   // sti
    [InlineData(new byte[] { 0x0F, 0x22, 0xC0, 0x90 }, 1)]       // mov cr0,eax: the mode may change
    [InlineData(new byte[] { 0xE6, 0x80, 0x90 }, 1)]             // out 0x80,al
    [InlineData(new byte[] { 0x8E, 0xD8, 0x90, 0x90 }, 3)]       // mov ds,ax goes on
    public void InstructionsThatChangeDecodingOrInterruptsEndTheBlock(byte[] code, int expectedCount)
    {
        Assert.Equal(expectedCount, Translated(code, code32: false).Instructions.Length);
    }

    [Fact]
    public void ABlockStopsAtThePageEnd()
    {
        byte[] code = [.. Enumerable.Repeat((byte)0x90, 0x1000)];
        DecodedRun run = Translated(code, eip: 0xFF0);
        Assert.Equal(16, run.Instructions.Length);
        Assert.False(run.CrossesPage);
    }

    [Fact]
    public void AnInstructionRunningIntoTheNextPageIsTheBlocksLast()
    {
        byte[] code = Assembled(32, 0xFFD, a =>
        {
            a.mov(eax, 0x12345678); // 0xFFD..0x1001
            a.nop();
        });
        DecodedRun run = Translated(code, eip: 0xFFC);
        Assert.Equal([Mnemonic.Nop, Mnemonic.Mov], Mnemonics(run));
        Assert.Equal(0x12345678u, run.Instructions[1].Immediate32);
        Assert.True(run.CrossesPage);
    }

    [Fact]
    public void AnUnfetchableNextPageEndsTheBlockWithoutAFault()
    {
        // The mov's last bytes are missing: the block is the nop, and the mov faults when it runs first.
        byte[] code = Assembled(32, 0xFFF, a => a.mov(eax, 0x12345678))[..0x1001];
        var image = new CodeImage(code);
        var translator = new BlockTranslator(image.Fetch, CpuOptions.Default);

        Assert.Equal(TranslationOutcome.Translated, translator.Translate(CodeBase, 0xFFE, true, out DecodedRun run));
        Assert.Equal([Mnemonic.Nop], Mnemonics(run));
        Assert.Equal(0, image.RaisedFaults);

        Assert.Equal(TranslationOutcome.FetchFaulted, translator.Translate(CodeBase, 0xFFF, true, out _));
        Assert.Equal(1, image.RaisedFaults);
    }

    [Fact]
    public void AnInstructionOverFifteenBytesIsInvalidAndEndsTheBlock()
    {
        // Eleven prefixes and mov eax,imm32 make 16 bytes; one prefix fewer is a valid 15-byte instruction.
        byte[] code = [.. Enumerable.Repeat((byte)0x3E, 11), 0xB8, 0x01, 0x00, 0x00, 0x00, 0x90];
        DecodedRun tooLong = Translated(code);
        Assert.True(Assert.Single(tooLong.Instructions).IsInvalid);

        DecodedRun longest = Translated(code[1..]);
        Assert.Equal([Code.Mov_r32_imm32, Code.Nopd], longest.Instructions.Select(i => i.Code));
        Assert.Equal(15, longest.Instructions[0].Length);
    }

    [Fact]
    public void TheSameBytesDecodeByCodeSize()
    {
        byte[] code = [0xB8, 0x01, 0x00, 0x00, 0x00, 0xF4];

        DecodedRun run32 = Translated(code, code32: true);
        Assert.Equal([Code.Mov_r32_imm32, Code.Hlt], run32.Instructions.Select(i => i.Code));
        Assert.Equal([MicroOpKind.MovRegImm, MicroOpKind.Generic], Kinds(run32.Ops));

        // 16-bit: mov ax,1; add [bx+si],al; hlt, all through the generic interpreter.
        DecodedRun run16 = Translated(code, code32: false);
        Assert.Equal([Code.Mov_r16_imm16, Code.Add_rm8_r8, Code.Hlt], run16.Instructions.Select(i => i.Code));
        Assert.All(run16.Ops, o => Assert.Equal(MicroOpKind.Generic, o.Kind));
    }

    [Fact]
    public void SixteenBitCodeWrapsAtTheSegmentEnd()
    {
        // mov ax,0x1234 at IP 0xFFFE: its immediate's high byte comes from offset 0, which ends the block.
        byte[] code = new byte[0x10000];
        code[0xFFFE] = 0xB8;
        code[0xFFFF] = 0x34;
        code[0] = 0x12;
        code[1] = 0x90;
        DecodedRun run = Translated(code, eip: 0xFFFE, code32: false);
        Assert.Equal([Code.Mov_r16_imm16], run.Instructions.Select(i => i.Code));
        Assert.Equal(0x1234, run.Instructions[0].Immediate16);
    }

    [Fact]
    public void TheBlockLengthLimitHolds()
    {
        byte[] code = [.. Enumerable.Repeat((byte)0x90, 100)];
        Assert.Equal(64, Translated(code).Instructions.Length);
        Assert.Equal(5, Translated(code, options: new CpuOptions(MaxBlockInstructions: 5)).Instructions.Length);
    }

    [Fact]
    public void CommonThirtyTwoBitFormsGetFastMicroOps()
    {
        DecodedRun run = Translated(Assembled(32, 0, a =>
        {
            a.mov(__dword_ptr[esi + ebx * 4 + 8], edx);
            a.cmp(ecx, 7);
            a.@lock.add(__dword_ptr[eax], ebx);
            a.add(ax, bx);
            a.shl(edi, 3);
            a.push(ebp);
            a.ret();
        }));
        Assert.Equal(
            [MicroOpKind.MovMemReg, MicroOpKind.CmpRegImm, MicroOpKind.Generic, MicroOpKind.Generic, MicroOpKind.ShiftRegImm, MicroOpKind.PushReg, MicroOpKind.Ret],
            Kinds(run.Ops));
        MicroOp store = run.Ops[0];
        Assert.Equal((X86Cpu.RegIndex(Register.ESI), X86Cpu.RegIndex(Register.EBX), 2, 8u, X86Cpu.RegIndex(Register.EDX)), (store.Base, store.Index, store.Scale, store.Disp, store.B));
        Assert.Equal(7u, run.Ops[1].Imm);
        Assert.Equal((byte)ShiftKind.Shl, run.Ops[4].B);
    }

    [Fact]
    public void WithoutFastOpsEveryInstructionIsGeneric()
    {
        DecodedRun run = Translated(Assembled(32, 0, a =>
        {
            a.mov(eax, ebx);
            a.ret();
        }), options: new CpuOptions(FastOps: false));
        Assert.Equal([MicroOpKind.Generic, MicroOpKind.Generic], Kinds(run.Ops));
    }

    [Fact]
    public void LivenessDropsFlagsALaterInstructionOverwritesOnlyInTheWholeRunOps()
    {
        DecodedRun run = Translated(Assembled(32, 0, a =>
        {
            Label top = a.CreateLabel();
            a.Label(ref top);
            a.add(eax, ebx);
            a.xor(edx, 0xFF);
            a.sub(ecx, 1);
            a.jne(top);
        }));
        Assert.Equal([MicroOpKind.AddRegReg, MicroOpKind.XorRegImm, MicroOpKind.SubRegImm, MicroOpKind.Jcc], Kinds(run.Ops));
        Assert.Equal([MicroOpKind.AddRegRegNoFlags, MicroOpKind.XorRegImmNoFlags, MicroOpKind.SubRegImm, MicroOpKind.Jcc], Kinds(run.WholeRunOps));
    }

    [Fact]
    public void ABlockWithNoDeadFlagsSharesItsMicroOps()
    {
        DecodedRun run = Translated(Assembled(32, 0, a =>
        {
            a.mov(eax, __dword_ptr[esi]);
            a.ret();
        }));
        Assert.Same(run.Ops, run.WholeRunOps);
    }
}
