using Emu.Machine.Cpu;
using Emu.Machine.Devices;
using Emu.Machine.Io;
using Emu.Machine.Memory;
using Iced.Intel;

namespace Emu.UnitTests.Cpu;

/// <summary>
/// A bare machine for CPU tests: one RAM block at 0, a port bus with a recording device on 0xE9 (debugcon)
/// and 0x80, and an interrupt controller the test drives.
/// </summary>
internal sealed class CpuTestMachine : IDisposable
{
    public const ushort DebugPort = 0xE9;

    public CpuTestMachine(ulong ramBytes = 4 << 20, CpuOptions? options = null)
    {
        Ram = new RamBlock("pc.ram", ramBytes);
        Memory = new AddressSpace();
        Memory.AddRam("ram", 0, Ram, 0, ramBytes);
        Io = new IoBus();
        Port = new RecordingPort();
        Io.Register(DebugPort, 1, Port);
        Io.Register(0x80, 4, Port);
        Interrupts = new TestInterruptController();
        Cpu = new X86Cpu(Memory, Io, Interrupts, options);
    }

    public RamBlock Ram { get; }

    public AddressSpace Memory { get; }

    public IoBus Io { get; }

    public RecordingPort Port { get; }

    public TestInterruptController Interrupts { get; }

    public X86Cpu Cpu { get; }

    public string Output => Port.Text;

    /// <summary>Assembles with Iced at <paramref name="address"/> and loads the bytes there.</summary>
    public byte[] Load(int bitness, ulong address, Action<Assembler> code)
    {
        var a = new Assembler(bitness);
        code(a);
        var w = new ByteWriter();
        a.Assemble(w, address);
        byte[] bytes = w.ToArray();
        Memory.LoadImage(address, bytes);
        return bytes;
    }

    /// <summary>Starts real-mode code at 0000:<paramref name="ip"/> with a stack at 0000:8000.</summary>
    public void StartReal(ushort ip)
    {
        Cpu.Reset();
        Cpu._seg[X86Cpu.SegCs].Selector = 0;
        Cpu._seg[X86Cpu.SegCs].Base = 0;
        Cpu._eip = ip;
        Cpu._gpr[X86Cpu.RegEsp] = 0x8000;
        Cpu.FlushCaches();
    }

    public CpuExitKind RunToHalt(long budget = 10_000_000) => Cpu.Run(budget);

    public void Dispose() => Ram.Dispose();

    internal sealed class ByteWriter : CodeWriter
    {
        private readonly List<byte> _bytes = new();

        public override void WriteByte(byte value) => _bytes.Add(value);

        public byte[] ToArray() => _bytes.ToArray();
    }

    internal sealed class RecordingPort : IIoDevice
    {
        private readonly System.Text.StringBuilder _text = new();

        public List<(ushort Port, int Size, uint Value)> Writes { get; } = new();

        public string Text => _text.ToString();

        public uint NextRead { get; set; } = 0x42;

        public uint IoRead(ushort port, int size) => NextRead;

        public void IoWrite(ushort port, int size, uint value)
        {
            Writes.Add((port, size, value));
            if (port == DebugPort)
            {
                _text.Append((char)(value & 0xFF));
            }
        }
    }

    internal sealed class TestInterruptController : IInterruptController
    {
        private readonly Queue<int> _pending = new();

        public bool HasPendingInterrupt => _pending.Count > 0;

        public int Acknowledged { get; private set; }

        public void Raise(int vector) => _pending.Enqueue(vector);

        public int AcknowledgeInterrupt()
        {
            Acknowledged++;
            return _pending.Dequeue();
        }
    }
}
