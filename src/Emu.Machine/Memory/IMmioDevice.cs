namespace Emu.Machine.Memory;

/// <summary>A device mapped into guest-physical memory. Offsets are from the region's start; sizes 1, 2, 4 or 8.</summary>
public interface IMmioDevice
{
    ulong MmioRead(ulong offset, int size);

    void MmioWrite(ulong offset, int size, ulong value);
}
