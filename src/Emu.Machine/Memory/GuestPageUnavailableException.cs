namespace Emu.Machine.Memory;

/// <summary>
/// Thrown to an accessor parked in <see cref="IPageFaultHandler.WaitForPage"/> when the page can never arrive
/// (postcopy lost its source for good): the guest cannot go on, and the vCPU thread ends the machine with this
/// message instead of running on memory that is not there.
/// </summary>
public sealed class GuestPageUnavailableException(string message) : Exception(message);
