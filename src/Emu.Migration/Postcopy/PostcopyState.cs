namespace Emu.Migration.Postcopy;

/// <summary>
/// QEMU PostcopyState, the destination's postcopy sub-state; it only moves forward:
/// <code>
/// none ─ADVISE─► advise ─DISCARD─► discard ─LISTEN─► listening ─RUN─► running ─end of stream─► end
///                   └──────────────LISTEN──────────────┘
/// </code>
/// A migration that ends in advise finished in precopy.
/// </summary>
public enum PostcopyState
{
    None,
    Advise,
    Discard,
    Listening,
    Running,
    End,
}
