namespace Emu.Machine.Memory;

/// <summary>
/// Postcopy's hook into guest memory: an accessor (a vCPU, a device) that touches a page not yet received
/// calls this and is parked until the page is placed (QEMU's userfaultfd wait, done in software).
/// </summary>
public interface IPageFaultHandler
{
    void WaitForPage(RamBlock block, int pageIndex);
}
