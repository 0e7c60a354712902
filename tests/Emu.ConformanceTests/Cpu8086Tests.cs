using System.IO.Compression;
using System.Text.Json;
using Emu.Machine.Cpu;
using Emu.Machine.Devices;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Xunit.Abstractions;

namespace Emu.ConformanceTests;

/// <summary>
/// Runs the SingleStepTests 8086 vectors (<c>../shared/data/8086</c>, one file per opcode or opcode/reg) through
/// the CPU in real mode, one instruction each, and compares registers, flags (masked by metadata.json) and RAM.
/// Emu models a 386-class CPU; where it legitimately differs from the 8086, the case is skipped with the reason
/// below, and the per-opcode pass rate (with skips) is written to the test output. Every file runs under tier 1 (the
/// interpreter) and under tier 2: then each vector's instruction is a block of its own, compiled before it runs.
/// </summary>
public sealed class Cpu8086Tests(ITestOutputHelper output)
{
    /// <summary>Statuses in metadata.json whose opcodes do not apply to a 386.</summary>
    private static readonly string[] SkippedStatuses = ["alias", "prefix", "fpu", "undocumented", "undefined"];

    /// <summary>The 8086's defined flags: CF PF AF ZF SF TF IF DF OF (bits 12-15 read as ones on an 8086).</summary>
    internal const ushort DefinedFlags = 0x0FD5;

    private static readonly string[] RegisterNames = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
    private static readonly string[] SegmentNames = ["es", "cs", "ss", "ds"];

    public static string? DataDirectory { get; } = FindDataDirectory();

    /// <summary>Tier 2 compiling every block before its first run, one instruction per block (a vector is one instruction).</summary>
    private static readonly CpuOptions CompiledTier = new(JitThreshold: 0, JitEveryBlock: true, MaxBlockInstructions: 1, JitInBackground: false);

    public static IEnumerable<object[]> Files()
    {
        if (DataDirectory == null)
        {
            yield return ["(missing)", CpuTier.Interpreter];
            yield break;
        }

        foreach (string f in Directory.GetFiles(DataDirectory, "*.json.gz").Order(StringComparer.Ordinal))
        {
            yield return [Path.GetFileName(f), CpuTier.Interpreter];
            yield return [Path.GetFileName(f), CpuTier.Compiled];
        }
    }

    /// <summary>Which tier runs the vectors.</summary>
    public enum CpuTier
    {
        Interpreter,
        Compiled,
    }

    private static string? FindDataDirectory()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Emu.sln")))
            {
                // <repo>/../shared/data/8086; a git worktree one level deeper (wt/NAME) looks one more level up.
                foreach (string up in (string[])["..", Path.Combine("..", "..")])
                {
                    string data = Path.GetFullPath(Path.Combine(d.FullName, up, "shared", "data", "8086"));
                    if (Directory.Exists(data))
                    {
                        return data;
                    }
                }

                return null;
            }
        }

        return null;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Opcode(string file, CpuTier tier)
    {
        if (DataDirectory == null)
        {
            output.WriteLine("SKIPPED: 8086 test vectors not found at <repo>/../shared/data/8086 (walked up from the test binaries to Emu.sln)");
            return;
        }

        using JsonDocument metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(DataDirectory, "metadata.json")));
        using var gz = new GZipStream(File.OpenRead(Path.Combine(DataDirectory, file)), CompressionMode.Decompress);
        using JsonDocument doc = JsonDocument.Parse(gz);
        using var machine = new Machine8086(tier == CpuTier.Compiled ? CompiledTier : CpuOptions.InterpreterOnly);

        int passed = 0, skipped = 0;
        var failures = new List<string>();
        var skipReasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonElement test in doc.RootElement.EnumerateArray())
        {
            byte[] bytes = test.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray();
            (byte opcode, int reg, int modrm) = OpcodeOf(bytes);
            JsonElement info = OpcodeInfo(metadata, opcode, reg, out ushort flagsMask);
            string status = info.TryGetProperty("status", out JsonElement st) ? st.GetString() ?? "normal" : "normal";
            string? reason = SkippedStatuses.Contains(status) ? $"metadata status '{status}'" : StaticSkipReason(opcode, reg, modrm, test);
            if (reason != null)
            {
                skipped++;
                skipReasons[reason] = skipReasons.GetValueOrDefault(reason) + 1;
                continue;
            }

            string? failure = machine.Run(test, flagsMask, opcode, out string? dynamicSkip);
            if (dynamicSkip != null)
            {
                skipped++;
                skipReasons[dynamicSkip] = skipReasons.GetValueOrDefault(dynamicSkip) + 1;
            }
            else if (failure == null)
            {
                passed++;
            }
            else
            {
                failures.Add($"#{test.GetProperty("test_num").GetInt32()} {test.GetProperty("name").GetString()}: {failure}");
            }
        }

        int applicable = passed + failures.Count;
        output.WriteLine($"{file}: {passed}/{applicable} passed ({(applicable == 0 ? 100 : 100.0 * passed / applicable):F1}%), {skipped} skipped");
        foreach ((string r, int n) in skipReasons)
        {
            output.WriteLine($"  skipped {n}: {r}");
        }

        foreach (string f in failures.Take(10))
        {
            output.WriteLine("  FAIL " + f);
        }

        Assert.True(failures.Count == 0, $"{file}: {failures.Count} of {applicable} failed; first: {failures.FirstOrDefault()}");
        Assert.True(tier == CpuTier.Interpreter || applicable == 0 || machine.BlocksCompiled > 0, $"{file}: tier 2 compiled nothing");
    }

    /// <summary>The opcode byte after prefixes, the ModRM reg field and the ModRM byte (-1 when none follows).</summary>
    private static (byte Opcode, int Reg, int ModRm) OpcodeOf(byte[] bytes)
    {
        int i = 0;
        while (i < bytes.Length && bytes[i] is 0x26 or 0x2E or 0x36 or 0x3E or 0xF0 or 0xF2 or 0xF3)
        {
            i++;
        }

        byte op = bytes[i];
        int modrm = i + 1 < bytes.Length ? bytes[i + 1] : -1;
        return (op, modrm < 0 ? -1 : (modrm >> 3) & 7, modrm);
    }

    private static JsonElement OpcodeInfo(JsonDocument metadata, byte opcode, int reg, out ushort flagsMask)
    {
        JsonElement info = metadata.RootElement.GetProperty("opcodes").GetProperty(opcode.ToString("X2"));
        if (info.TryGetProperty("reg", out JsonElement regs))
        {
            info = regs.GetProperty(reg.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        flagsMask = info.TryGetProperty("flags-mask", out JsonElement m) ? (ushort)m.GetInt32() : (ushort)0xFFFF;
        return info;
    }

    /// <summary>Cases where a 386 differs from the 8086 by design, known before running.</summary>
    private static string? StaticSkipReason(byte opcode, int reg, int modrm, JsonElement test)
    {
        JsonElement regs = test.GetProperty("initial").GetProperty("regs");
        if (opcode is 0xD2 or 0xD3 && (regs.GetProperty("cx").GetInt32() & 0xFF) >= 32)
        {
            return "shift/rotate by CL >= 32: the 386 masks the count to 5 bits";
        }

        if (opcode == 0x54 || (opcode == 0xFF && reg == 6 && modrm == 0xF4))
        {
            return "PUSH SP: the 8086 pushes the decremented SP, the 386 the old one";
        }

        if (opcode is 0xC4 or 0xC5 && modrm >= 0xC0)
        {
            return "LES/LDS with a register operand: undefined on the 8086, #UD on the 386";
        }

        if (opcode == 0xFF && reg is 3 or 5 && modrm >= 0xC0)
        {
            return "far CALL/JMP with a register operand: undefined on the 8086, #UD on the 386";
        }

        if (opcode is 0x8C or 0x8E && reg >= 4)
        {
            return "MOV Sreg with reg 4-7: aliases ES..DS on the 8086, FS/GS/#UD on the 386";
        }

        int al = regs.GetProperty("ax").GetInt32() & 0xFF;
        bool af = (regs.GetProperty("flags").GetInt32() & 0x10) != 0;
        if (opcode == 0x27 && af && al is >= 0x9A and <= 0x9F)
        {
            return "DAA with AF set and AL 9A-9F: the 8086 compares the old AL with 9F, the 386 with 99";
        }

        if (opcode == 0x2F && af && (al < 6 || al is >= 0x9A and <= 0x9F))
        {
            return "DAS with AF set and AL < 6 or 9A-9F: the 8086 takes no borrow from the low adjust and compares with 9F";
        }

        if (opcode == 0x37 && ((al & 0x0F) > 9 || af) && al > 0xF9)
        {
            return "AAA with AL > F9: the 386 adds 106h to AX, carrying into AH; the 8086 adjusts AL and AH separately";
        }

        if (opcode == 0x3F && ((al & 0x0F) > 9 || af) && al < 6)
        {
            return "AAS with AL < 6: the 386 subtracts 106h from AX, borrowing from AH; the 8086 adjusts AL and AH separately";
        }

        byte[] bytes = test.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray();
        if (opcode is 0xF6 or 0xF7 && reg == 7 && bytes.Any(b => b is 0xF2 or 0xF3))
        {
            return "REP-prefixed IDIV: the 8086 microcode negates the quotient, the 386 ignores the prefix";
        }

        if (opcode == 0x8E && reg == 1)
        {
            return "MOV CS, r/m: loads CS on the 8086, #UD on the 386";
        }

        return null;
    }

    /// <summary>One real-mode CPU over 1 MiB of RAM plus the 64 KiB alias above it (the 8086's 20-bit wrap).</summary>
    private sealed class Machine8086 : IDisposable
    {
        private readonly RamBlock _ram = new("pc.ram", 1 << 20);
        private readonly AddressSpace _memory = new();
        private readonly X86Cpu _cpu;

        public Machine8086(CpuOptions options)
        {
            _memory.AddRam("ram", 0, _ram, 0, 1 << 20);
            _memory.AddRam("wrap", 1 << 20, _ram, 0, 0x10000);
            _cpu = new X86Cpu(_memory, new IoBus(), new NoInterrupts(), options);
        }

        public long BlocksCompiled => _cpu.BlocksCompiled;

        public void Dispose() => _ram.Dispose();

        /// <summary>Runs one vector; returns null when it matches, else what differs. Sets a skip reason for 386-by-design differences seen while running.</summary>
        public string? Run(JsonElement test, ushort flagsMask, byte opcode, out string? skip)
        {
            skip = null;
            JsonElement initial = test.GetProperty("initial");
            JsonElement regs = initial.GetProperty("regs");
            foreach (JsonElement pair in initial.GetProperty("ram").EnumerateArray())
            {
                _memory.Write((ulong)pair[0].GetInt32(), 1, (ulong)pair[1].GetInt32());
            }

            _cpu.Reset();
            for (int i = 0; i < 8; i++)
            {
                _cpu._gpr[i] = (uint)regs.GetProperty(RegisterNames[i]).GetInt32();
            }

            for (int s = 0; s < 4; s++)
            {
                _cpu.LoadRealSegment(s, (ushort)regs.GetProperty(SegmentNames[s]).GetInt32());
            }

            _cpu._eip = (uint)regs.GetProperty("ip").GetInt32();
            _cpu.SetEflags((uint)regs.GetProperty("flags").GetInt32(), DefinedFlags);
            _cpu.FlushCaches();

            int vector = _cpu.Step();
            JsonElement final = test.GetProperty("final");
            JsonElement finalRegs = final.GetProperty("regs");
            if (vector is X86Cpu.ExceptionGp or X86Cpu.ExceptionSs)
            {
                skip = "word access at offset 0xFFFF: the 8086 wraps inside the segment, the 386 raises #GP/#SS";
                return null;
            }

            if (vector == X86Cpu.ExceptionDe || (opcode is 0xF6 or 0xF7 or 0xD4 && finalRegs.TryGetProperty("cs", out _)))
            {
                skip = "divide error: the 8086 pushes the next IP and traps on an IDIV quotient of -128 (word -32768); the 386 pushes the faulting IP and allows it";
                return null;
            }

            var diffs = new List<string>();
            for (int i = 0; i < 8; i++)
            {
                Compare(diffs, RegisterNames[i], Expected(regs, finalRegs, RegisterNames[i]), _cpu._gpr[i] & 0xFFFF);
            }

            for (int s = 0; s < 4; s++)
            {
                Compare(diffs, SegmentNames[s], Expected(regs, finalRegs, SegmentNames[s]), _cpu._seg[s].Selector);
            }

            Compare(diffs, "ip", Expected(regs, finalRegs, "ip"), _cpu._eip & 0xFFFF);
            uint mask = (uint)(flagsMask & DefinedFlags);
            Compare(diffs, "flags", Expected(regs, finalRegs, "flags") & mask, _cpu.GetEflags() & mask);

            // Pushed FLAGS images differ in bits 12-15 (ones on the 8086): find them to mask those bits.
            ulong pushedFlagsAt = ulong.MaxValue;
            if (opcode is 0x9C or 0xCC or 0xCD or 0xCE)
            {
                uint sp = Expected(regs, finalRegs, "sp");
                uint ss = Expected(regs, finalRegs, "ss");
                pushedFlagsAt = ((ss << 4) + ((sp + (opcode == 0x9C ? 0u : 4u)) & 0xFFFF) + 1) & 0xFFFFF;
            }

            foreach (JsonElement pair in final.GetProperty("ram").EnumerateArray())
            {
                ulong address = (ulong)pair[0].GetInt32();
                uint expected = (uint)pair[1].GetInt32();
                uint actual = (uint)_memory.Read(address, 1);
                if (address == pushedFlagsAt)
                {
                    expected &= 0x0F;
                    actual &= 0x0F;
                }

                if (expected != actual)
                {
                    diffs.Add($"ram[0x{address:x5}] expected 0x{expected:x2} found 0x{actual:x2}");
                }
            }

            return diffs.Count == 0 ? null : string.Join(", ", diffs);
        }

        private static uint Expected(JsonElement initial, JsonElement final, string name) =>
            (uint)(final.TryGetProperty(name, out JsonElement v) ? v.GetInt32() : initial.GetProperty(name).GetInt32());

        private static void Compare(List<string> diffs, string name, uint expected, uint actual)
        {
            if (expected != actual)
            {
                diffs.Add($"{name} expected 0x{expected:x4} found 0x{actual:x4}");
            }
        }
    }

    private sealed class NoInterrupts : IInterruptController
    {
        public bool HasPendingInterrupt => false;

        public int AcknowledgeInterrupt() => throw new InvalidOperationException("8086 vectors: no interrupt was pending");
    }
}
