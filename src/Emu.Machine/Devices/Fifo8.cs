namespace Emu.Machine.Devices;

/// <summary>
/// A bounded byte FIFO (QEMU Fifo8), for the UART's receive FIFO and the keyboard controller's queues.
/// Not thread-safe: its owner holds its lock.
/// </summary>
internal sealed class Fifo8(int capacity)
{
    private readonly byte[] _ring = new byte[capacity];
    private int _head;

    public int Capacity => _ring.Length;

    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    public bool IsFull => Count == _ring.Length;

    public int Free => _ring.Length - Count;

    public void Push(byte value)
    {
        if (IsFull)
        {
            throw new InvalidOperationException("fifo: push to a full FIFO");
        }

        _ring[(_head + Count) % _ring.Length] = value;
        Count++;
    }

    public byte Pop()
    {
        if (IsEmpty)
        {
            throw new InvalidOperationException("fifo: pop from an empty FIFO");
        }

        byte v = _ring[_head];
        _head = (_head + 1) % _ring.Length;
        Count--;
        return v;
    }

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }

    /// <summary>The contents, oldest first, zero-padded to <see cref="Capacity"/> (the migrated form).</summary>
    public ImmutableBytes Snapshot()
    {
        Span<byte> b = stackalloc byte[_ring.Length];
        b.Clear();
        for (int i = 0; i < Count; i++)
        {
            b[i] = _ring[(_head + i) % _ring.Length];
        }

        return new ImmutableBytes(b);
    }

    /// <summary>Replaces the contents with the first <paramref name="count"/> bytes of a snapshot.</summary>
    public void Restore(ImmutableBytes contents, int count)
    {
        if (count > _ring.Length || contents.Length < count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"fifo: {count} bytes do not fit a FIFO of {_ring.Length}");
        }

        contents.Span[..count].CopyTo(_ring);
        _head = 0;
        Count = count;
    }
}
