namespace Emu.EndToEndTests.Support;

/// <summary>How <see cref="BreakableProxy.Cut"/> ends its connections.</summary>
public enum LinkCut
{
    /// <summary>An orderly close: each end reads end-of-stream, then writes meet a closed socket.</summary>
    Fin,

    /// <summary>An abortive close (SO_LINGER 0): each end gets ECONNRESET at once, with no end-of-stream first.</summary>
    Rst,
}
