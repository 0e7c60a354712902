namespace Emu.Migration.DirtyRate;

/// <summary>How calc-dirty-rate measures (QEMU DirtyRateMeasureMode; wire names in <see cref="DirtyRateNames"/>).</summary>
public enum DirtyRateMeasureMode
{
    /// <summary>Hash a random sample of pages before and after, and scale the changed share to the RAM size.</summary>
    PageSampling,

    /// <summary>Count the pages each vCPU newly dirtied (QEMU reads KVM's dirty ring; Emu its write barrier).</summary>
    DirtyRing,

    /// <summary>Count the distinct pages any writer dirtied in the window (the dirty bitmap).</summary>
    DirtyBitmap,
}
