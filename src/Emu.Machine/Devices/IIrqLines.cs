namespace Emu.Machine.Devices;

/// <summary>The ISA interrupt lines 0–15 as a device drives them (the PIC pair implements it).</summary>
public interface IIrqLines
{
    void SetIrq(int irq, bool level);
}
