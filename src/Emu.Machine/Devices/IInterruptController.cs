namespace Emu.Machine.Devices;

/// <summary>What the CPU sees of the interrupt controller: INTR, and INTA returning the vector.</summary>
public interface IInterruptController
{
    /// <summary>True while an unmasked interrupt is waiting (the INTR pin). Cheap; read at block boundaries.</summary>
    bool HasPendingInterrupt { get; }

    /// <summary>The interrupt acknowledge cycle: returns the vector and marks the request in service.</summary>
    int AcknowledgeInterrupt();
}
