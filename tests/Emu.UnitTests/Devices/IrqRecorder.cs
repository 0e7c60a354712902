using Emu.Machine.Devices;

namespace Emu.UnitTests.Devices;

/// <summary>An <see cref="IIrqLines"/> that remembers each line's level and every rising edge.</summary>
internal sealed class IrqRecorder : IIrqLines
{
    private readonly bool[] _levels = new bool[16];

    public List<(int Irq, bool Level)> Changes { get; } = [];

    public bool Level(int irq) => _levels[irq];

    public int RisingEdges(int irq) => Changes.Count(c => c.Irq == irq && c.Level);

    public Action<int, bool>? OnChange { get; set; }

    public void SetIrq(int irq, bool level)
    {
        if (_levels[irq] == level)
        {
            return;
        }

        // Record first: a handler may lower the line again from inside the callback.
        _levels[irq] = level;
        Changes.Add((irq, level));
        OnChange?.Invoke(irq, level);
    }
}
