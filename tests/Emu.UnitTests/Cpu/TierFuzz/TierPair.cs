using Emu.Machine.Cpu;
using Emu.Machine.Devices;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Iced.Intel;

namespace Emu.UnitTests.Cpu.TierFuzz;

/// <summary>
/// The differential fuzzer's two machines: one CPU with tier 2 off, one compiling every block (threshold 0 or 1,
/// so blocks run compiled from their first or second run). Each sequence starts both from the same state — flat
/// protected mode with paging, an IDT whose every gate leads to HLT, random registers, flags and data — runs to
/// HLT (or the same budget), and compares registers, EFLAGS, CR2, EIP, instructions retired, the data, stack and
/// code pages (the exception frame a fault pushed is in the stack page).
/// </summary>
internal sealed class TierPair : IDisposable
{
    private const uint Gdt = 0x500, Idt = 0x1000, Handler = 0x2000, PageDirectory = 0x8_0000, PageTable = 0x8_1000;
    /// <summary>The stack pages: the one below ESP's start and the one above it ([ESP + d] operands reach there).</summary>
    private const uint StackTop = 0x9_0000, StackPages = StackTop - 0x1000, StackBytes = 0x2000, Code = 0x20_0000;
    private const int CodeBytes = 0x4000;
    private const long Budget = 20_000;

    private readonly Side _interpreted = new(CpuOptions.InterpreterOnly);
    private readonly Side _compiledFirstRun = new(new CpuOptions(JitThreshold: 0, JitEveryBlock: true, JitInBackground: false));
    private readonly Side _compiledSecondRun = new(new CpuOptions(JitThreshold: 1, JitInBackground: false));

    /// <summary>Blocks the tier 2 machines have compiled (so a run can show it exercised tier 2).</summary>
    public long BlocksCompiled => _compiledFirstRun.Cpu.BlocksCompiled + _compiledSecondRun.Cpu.BlocksCompiled;

    /// <summary>Compiled-to-compiled transfers the compiled sides made (chaining).</summary>
    public long BlocksChained => _compiledFirstRun.Cpu.BlocksChained + _compiledSecondRun.Cpu.BlocksChained;

    public void Dispose()
    {
        _interpreted.Dispose();
        _compiledFirstRun.Dispose();
        _compiledSecondRun.Dispose();
    }

    /// <summary>The code of sequence <paramref name="seed"/>, disassembled (for a failure's message).</summary>
    public static string Listing(int seed)
    {
        byte[] code = Assemble(new Random(seed));
        var decoder = Decoder.Create(32, new ByteArrayCodeReader(code), Code);
        var formatter = new NasmFormatter();
        var output = new StringOutput();
        var text = new System.Text.StringBuilder();
        while (decoder.IP < Code + (ulong)code.Length)
        {
            decoder.Decode(out Instruction ins);
            formatter.Format(in ins, output);
            text.Append($"{ins.IP:x8} {output.ToStringAndReset()}\n");
        }

        return text.ToString();
    }

    /// <summary>Runs sequence <paramref name="seed"/> under both tiers; null when they agree, else the first difference.</summary>
    public string? Run(int seed)
    {
        var r = new Random(seed);
        byte[] code = Assemble(r);
        if (code.Length > CodeBytes)
        {
            throw new InvalidOperationException($"sequence {seed}: {code.Length} bytes of code, room for {CodeBytes}");
        }

        byte[] data = new byte[RandomInstructionSequence.DataBytes];
        r.NextBytes(data);
        uint[] regs = [(uint)r.Next() ^ ((uint)r.Next(2) << 31), (uint)r.Next(0, 300), (uint)r.Next(), 0, 0, 0, 0, 0];
        uint flags = (uint)r.Next() & X86Cpu.ArithFlags;

        Side compiled = (seed & 1) == 0 ? _compiledFirstRun : _compiledSecondRun;
        _interpreted.Start(code, data, regs, flags);
        compiled.Start(code, data, regs, flags);
        long retired1 = _interpreted.Cpu.InstructionsRetired, retired2 = compiled.Cpu.InstructionsRetired;
        _interpreted.Cpu.Run(Budget);
        compiled.Cpu.Run(Budget);
        return Difference(_interpreted, compiled, _interpreted.Cpu.InstructionsRetired - retired1, compiled.Cpu.InstructionsRetired - retired2);
    }

    private static byte[] Assemble(Random r)
    {
        var a = new Assembler(32);
        RandomInstructionSequence.Emit(a, r, r.Next(8, 48));
        var writer = new CodeBytesWriter();
        a.Assemble(writer, Code);
        return writer.ToArray();
    }

    private static string? Difference(Side t1, Side t2, long retired1, long retired2)
    {
        X86Cpu a = t1.Cpu, b = t2.Cpu;
        string[] names = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
        for (int i = 0; i < 8; i++)
        {
            if (a._gpr[i] != b._gpr[i])
            {
                return $"{names[i]}: tier 1 {a._gpr[i]:x8}, tier 2 {b._gpr[i]:x8}";
            }
        }

        (string Name, ulong T1, ulong T2)[] scalars =
        [
            ("eip", a._eip, b._eip),
            ("eflags", a.GetEflags(), b.GetEflags()),
            ("cr2", a._cr2, b._cr2),
            ("instructions retired", (ulong)retired1, (ulong)retired2),
            ("halted", a.IsHalted ? 1UL : 0, b.IsHalted ? 1UL : 0),
        ];
        foreach ((string name, ulong v1, ulong v2) in scalars)
        {
            if (v1 != v2)
            {
                return $"{name}: tier 1 {v1:x}, tier 2 {v2:x}";
            }
        }

        if (a.ShutdownReason != b.ShutdownReason)
        {
            return $"shutdown: tier 1 '{a.ShutdownReason}', tier 2 '{b.ShutdownReason}'";
        }

        (string Name, uint Gpa, int Bytes)[] regions =
        [
            ("data", RandomInstructionSequence.DataBase, (int)RandomInstructionSequence.DataBytes),
            ("stack", StackPages, (int)StackBytes),
            ("code", Code, CodeBytes),
        ];
        foreach ((string name, uint gpa, int bytes) in regions)
        {
            Span<byte> m1 = t1.Ram.Slice(gpa, bytes), m2 = t2.Ram.Slice(gpa, bytes);
            int at = m1.CommonPrefixLength(m2);
            if (at < bytes)
            {
                return $"{name} byte at {gpa + (uint)at:x8}: tier 1 {m1[at]:x2}, tier 2 {m2[at]:x2}";
            }
        }

        return null;
    }

    /// <summary>One machine: 4 MiB of RAM identity-mapped, the page after the data pages not present.</summary>
    private sealed class Side : IDisposable
    {
        private readonly AddressSpace _memory = new();

        public Side(CpuOptions options)
        {
            Ram = new RamBlock("pc.ram", 4 << 20);
            _memory.AddRam("ram", 0, Ram, 0, 4 << 20);
            Cpu = new X86Cpu(_memory, new IoBus(), new NoInterrupts(), options);
            _memory.WriteU64(Gdt + 8, 0x00CF_9A00_0000_FFFF);
            _memory.WriteU64(Gdt + 16, 0x00CF_9200_0000_FFFF);
            for (uint v = 0; v < 256; v++)
            {
                // 32-bit interrupt gates, selector 8, all to the HLT at Handler.
                _memory.WriteU64(Idt + v * 8, (Handler & 0xFFFF) | (8u << 16) | ((ulong)(0x8E00 | (Handler & 0xFFFF_0000)) << 32));
            }

            _memory.WriteU8(Handler, 0xF4);
            _memory.WriteU32(PageDirectory, PageTable | 3);
            for (uint i = 0; i < 1024; i++)
            {
                uint page = i << 12;
                _memory.WriteU32(PageTable + i * 4, page == RandomInstructionSequence.DataBase + RandomInstructionSequence.DataBytes ? 0 : page | 3);
            }
        }

        public RamBlock Ram { get; }

        public X86Cpu Cpu { get; }

        public void Start(byte[] code, byte[] data, uint[] regs, uint flags)
        {
            Ram.Slice(Code, CodeBytes).Clear();
            _memory.LoadImage(Code, code);
            _memory.LoadImage(RandomInstructionSequence.DataBase, data);
            Ram.Slice(StackPages, (int)StackBytes).Clear();
            Cpu.Reset();
            Cpu.EnterMultiboot(Code, 0, 0);
            Cpu._gdtBase = Gdt;
            Cpu._gdtLimit = 0x17;
            Cpu._idtBase = Idt;
            Cpu._idtLimit = 0x7FF;
            Cpu._cr3 = PageDirectory;
            Cpu._cr0 |= X86Cpu.Cr0Pg;
            Cpu.UpdateMode();
            Cpu.FlushCaches();
            for (int i = 0; i < 8; i++)
            {
                Cpu._gpr[i] = regs[i];
            }

            Cpu._gpr[X86Cpu.RegEbx] = RandomInstructionSequence.DataBase;
            Cpu._gpr[X86Cpu.RegEsi] = RandomInstructionSequence.DataBase + 0x800;
            Cpu._gpr[X86Cpu.RegEdi] = RandomInstructionSequence.DataBase + 0x1800;
            Cpu._gpr[X86Cpu.RegEsp] = StackTop;
            Cpu.SetEflags(flags | 2, X86Cpu.ArithFlags);
        }

        public void Dispose() => Ram.Dispose();
    }

    private sealed class NoInterrupts : IInterruptController
    {
        public bool HasPendingInterrupt => false;

        public int AcknowledgeInterrupt() => throw new InvalidOperationException("no interrupt is pending");
    }

    private sealed class CodeBytesWriter : CodeWriter
    {
        private readonly List<byte> _bytes = new();

        public override void WriteByte(byte value) => _bytes.Add(value);

        public byte[] ToArray() => _bytes.ToArray();
    }
}
