using Iced.Intel;

namespace Emu.Machine.Cpu.Translation;

/// <summary>
/// Feeds Iced guest code bytes from a linear address through the CPU's translation. When the next page cannot
/// be fetched (a page fault, or a page the block must not span), it reports end of input instead of faulting,
/// so the translator can end the block there; the fault is raised only if the first instruction needs it.
/// </summary>
internal sealed class GuestCodeReader : CodeReader
{
    private readonly Func<uint, bool, int> _fetch;
    private uint _linear;
    private int _remaining;
    private uint _segmentBase;
    private uint _offset;
    private bool _wrap16;

    /// <param name="fetch">Reads one byte at a linear address (second argument: may raise a fault); -1 when it cannot.</param>
    public GuestCodeReader(Func<uint, bool, int> fetch) => _fetch = fetch;

    /// <summary>Bytes consumed since <see cref="Reset"/>.</summary>
    public int Consumed { get; private set; }

    /// <summary>True when a fetch since <see cref="Reset"/> could not read its byte (rather than the byte limit ending the input).</summary>
    public bool FetchFailed { get; private set; }

    /// <summary>True to let a failing fetch raise its fault (only for the block's first instruction).</summary>
    public bool RaiseFaults { get; set; }

    public void Reset(uint linear, int maxBytes)
    {
        _linear = linear;
        _remaining = maxBytes;
        _wrap16 = false;
        FetchFailed = false;
        Consumed = 0;
    }

    /// <summary>
    /// As <see cref="Reset(uint, int)"/> for 16-bit code at <paramref name="segmentBase"/>:<paramref name="offset"/>:
    /// bytes past offset 0xFFFF come from the segment's start (IP wraps), not from base + 0x10000.
    /// </summary>
    public void Reset16(uint segmentBase, uint offset, int maxBytes)
    {
        Reset(segmentBase + offset, maxBytes);
        _segmentBase = segmentBase;
        _offset = offset;
        _wrap16 = true;
    }

    public override int ReadByte()
    {
        if (_remaining <= 0)
        {
            return -1;
        }

        uint linear = _wrap16 ? _segmentBase + ((_offset + (uint)Consumed) & 0xFFFF) : _linear;
        int b = _fetch(linear, RaiseFaults);
        if (b < 0)
        {
            FetchFailed = true;
            _remaining = 0;
            return -1;
        }

        _linear++;
        _remaining--;
        Consumed++;
        return b;
    }
}
