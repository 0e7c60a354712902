namespace Emu.EndToEndTests.Support;

/// <summary>
/// One hop of a ping-pong: its number (from 1), precopy or postcopy, the time from <c>migrate</c> until both sides
/// completed, the source's downtime, the destination's postcopy blocktime (postcopy only), and the a-b value the
/// destination's guest showed when checked.
/// </summary>
public sealed record PingPongHop(int Number, bool Postcopy, double TotalMs, long DowntimeMs, long? BlocktimeMs, byte AbValue)
{
    public string Kind => Postcopy ? "postcopy" : "precopy";
}
