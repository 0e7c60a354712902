using Emu.Machine.Board;
using Emu.Machine.DirtyRate;
using Emu.Machine.Memory;
using Emu.Machine.State;

namespace Emu.UnitTests.Migration;

/// <summary>
/// A machine for migration tests: real <see cref="RamBlock"/>s, fake devices, a run state, and an optional
/// "guest" thread that writes RAM through the dirty log while the machine runs.
/// </summary>
internal sealed class FakeMachine : IMigratableMachine, IDisposable
{
    private readonly List<RamBlock> _blocks = [];
    private DirtyLimitState? _dirtyLimit;
    private readonly List<IVmStateDevice> _devices = [];
    private readonly object _runLock = new();
    private RunState _runState = RunState.Running;
    private Thread? _guest;
    private volatile bool _guestStop;
    private int _guestPaused;
    private readonly object _guestLock = new();

    public FakeMachine(params (string IdStr, ulong Size)[] blocks)
    {
        foreach ((string id, ulong size) in blocks)
        {
            _blocks.Add(new RamBlock(id, size));
        }

        _devices.Add(new FakeDevice("fake-timer", 0));
        _devices.Add(new FakeDevice("fake-timer", 1));
    }

    public IReadOnlyList<RamBlock> RamBlocks => _blocks;

    /// <summary>One vCPU's dirty-page limit over these blocks; nothing charges it unless a test binds it to a thread.</summary>
    public DirtyLimitState DirtyLimit => _dirtyLimit ??= DirtyLimitState.ForOneVcpu(_blocks, () => { });

    public IReadOnlyList<IVmStateDevice> Devices => _devices;

    public List<IVmStateDevice> DeviceList => _devices;

    public RunState RunState
    {
        get
        {
            lock (_runLock)
            {
                return _runState;
            }
        }
    }

    public event Action<RunState>? RunStateChanged;

    public int ThrottlePercent { get; set; }

    public List<int> ThrottleHistory { get; } = [];

    public int FlushCount { get; private set; }

    public int StartCount { get; private set; }

    public FakeDevice Timer => (FakeDevice)_devices[0];

    /// <summary>As a real machine's: returns only once the guest thread is outside any store.</summary>
    public void Stop(RunState state)
    {
        Interlocked.Exchange(ref _guestPaused, 1);
        lock (_guestLock)
        {
        }

        SetRunState(state);
    }

    public void Start()
    {
        StartCount++;
        SetRunState(RunState.Running);
        Interlocked.Exchange(ref _guestPaused, 0);
    }

    public void SetRunState(RunState state)
    {
        lock (_runLock)
        {
            _runState = state;
        }

        RunStateChanged?.Invoke(state);
    }

    public void FlushCpuCaches() => FlushCount++;

    /// <summary>How many times the migration asked the machine to stop populating its RAM.</summary>
    public int PrefaultStops { get; private set; }

    public void StopRamPrefault() => PrefaultStops++;

    /// <summary>Writes a byte into a page as a guest store would: data first, then the dirty mark.</summary>
    public unsafe void GuestWrite(int block, ulong offset, byte value)
    {
        RamBlock b = _blocks[block];
        b.HostPointer[offset] = value;
        b.DirtyLog.MarkPageDirty((int)(offset >> RamBlock.PageShift));
    }

    /// <summary>Starts a guest thread that keeps incrementing the first byte of pages [0, pages) of block 0.</summary>
    public void StartGuest(int pages)
    {
        _guest = new Thread(() =>
        {
            byte v = 1;
            while (!_guestStop)
            {
                if (Volatile.Read(ref _guestPaused) != 0)
                {
                    Thread.Sleep(1);
                    continue;
                }

                for (int p = 0; p < pages; p++)
                {
                    lock (_guestLock)
                    {
                        if (Volatile.Read(ref _guestPaused) != 0)
                        {
                            break;
                        }

                        GuestWrite(0, (ulong)p << RamBlock.PageShift, v);
                    }
                }

                v++;
                Thread.Sleep(1);
            }
        })
        { IsBackground = true, Name = "fake-guest" };
        _guest.Start();
    }

    public void Dispose()
    {
        _guestStop = true;
        _guest?.Join();
        foreach (RamBlock b in _blocks)
        {
            b.Dispose();
        }
    }
}

/// <summary>A device record for tests: a counter and a mode with a validated range.</summary>
internal sealed record FakeDeviceState
{
    public ulong Counter { get; init; }

    public byte Mode { get; init; }
}

/// <summary>A fake device with one declarative state description (version 2, loads 1..2; "mode" since 2).</summary>
internal sealed class FakeDevice(string name, int instance) : IVmState<FakeDeviceState>
{
    public static readonly VmStateDescription<FakeDeviceState> Description = new(
        "fake-timer",
        version: 2,
        minimumVersion: 1,
        empty: () => new FakeDeviceState(),
        fields:
        [
            VmField.U64<FakeDeviceState>("counter", s => s.Counter, (s, v) => s with { Counter = v }),
            VmField.U8<FakeDeviceState>("mode", s => s.Mode, (s, v) => s with { Mode = v }, sinceVersion: 2),
        ],
        validate: s => s.Mode <= 3 ? null : $"mode {s.Mode} out of range 0..3");

    public FakeDeviceState State { get; set; } = new();

    public string SectionName => name;

    public int InstanceId => instance;

    public VmStateDescription<FakeDeviceState> Vmsd => Description;

    public FakeDeviceState Save() => State;

    /// <summary>States applied by a load (the destination's warm-up loads each device's own state back).</summary>
    public int LoadCount { get; private set; }

    public void Load(FakeDeviceState state)
    {
        State = state;
        LoadCount++;
    }
}
