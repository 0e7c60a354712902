using Emu.Machine.Memory;

namespace Emu.UnitTests.Migration.Multifd;

/// <summary>A source's and a destination's "pc.ram" of the same size, to move pages between and compare.</summary>
internal sealed class SourceAndDestinationRam(int pages) : IDisposable
{
    public RamBlock Source { get; } = new("pc.ram", (ulong)pages * RamBlock.PageSize);

    public RamBlock Destination { get; } = new("pc.ram", (ulong)pages * RamBlock.PageSize);

    public bool SamePage(int page) => Source.Page(page).SequenceEqual(Destination.Page(page));

    public void Dispose()
    {
        Source.Dispose();
        Destination.Dispose();
    }
}
