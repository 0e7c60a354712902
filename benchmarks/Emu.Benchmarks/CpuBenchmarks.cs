using BenchmarkDotNet.Attributes;
using Emu.Machine.Cpu;
using Emu.Machine.Devices;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.Benchmarks;

/// <summary>
/// Execute throughput of tier 1 (the interpreter) and tier 2 (the loop compiled before its first run) on a fixed
/// 32-bit loop (the speed guest's mix: a load, ALU ops, a store, a taken branch), with the migration dirty log off
/// and on: the write barrier's overhead under each tier. One operation is one guest instruction, so the reported
/// mean is ns per guest instruction.
/// </summary>
[MemoryDiagnoser]
public class CpuBenchmarks : IDisposable
{
    internal const int InstructionsPerInvoke = 10_000_000;
    internal const uint CodeAddress = 0x10_0000;

    private RamBlock? _ram;
    private X86Cpu? _cpu;

    [Params(false, true)]
    public bool MigrationLogging { get; set; }

    [Params(true, false)]
    public bool FastOps { get; set; }

    [Params(false, true)]
    public bool Compiled { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ram = new RamBlock("pc.ram", 16 << 20);
        var memory = new AddressSpace();
        memory.AddRam("ram", 0, _ram, 0, _ram.SizeBytes);
        if (MigrationLogging)
        {
            _ram.DirtyLog.Enable(DirtyClient.Migration);
        }

        _cpu = new X86Cpu(memory, new IoBus(), new NoInterrupts(), Compiled
            ? new CpuOptions(FastOps: FastOps, JitThreshold: 0, JitInBackground: false)
            : new CpuOptions(Jit: false, FastOps: FastOps));
        var a = new Assembler(32);
        Label top = a.CreateLabel();
        a.mov(esi, 0x20_0000);
        a.mov(edi, 0x30_0000);
        a.mov(ecx, 0x7FFF_FFFF);
        a.Label(ref top);
        a.mov(eax, __dword_ptr[esi]);
        a.add(eax, ebx);
        a.xor(edx, eax);
        a.mov(__dword_ptr[edi + 4], edx);
        a.sub(ebx, 3);
        a.dec(ecx);
        a.jnz(top);
        var writer = new ByteCodeWriter();
        a.Assemble(writer, CodeAddress);
        memory.LoadImage(CodeAddress, writer.ToArray());
        _cpu.EnterMultiboot(CodeAddress, 0, 0);
    }

    [Benchmark(OperationsPerInvoke = InstructionsPerInvoke)]
    public CpuExitKind Run() => _cpu!.Run(InstructionsPerInvoke);

    [GlobalCleanup]
    public void Dispose()
    {
        _ram?.Dispose();
        _ram = null;
        GC.SuppressFinalize(this);
    }

    private sealed class NoInterrupts : IInterruptController
    {
        public bool HasPendingInterrupt => false;

        public int AcknowledgeInterrupt() => throw new InvalidOperationException("cpu benchmark: no interrupt was pending");
    }

    private sealed class ByteCodeWriter : CodeWriter
    {
        private readonly List<byte> _bytes = new();

        public override void WriteByte(byte value) => _bytes.Add(value);

        public byte[] ToArray() => _bytes.ToArray();
    }
}
