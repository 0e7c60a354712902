namespace Emu.Machine.Cpu;

/// <summary>What started a hardware task switch (QEMU SWITCH_TSS_JMP / _IRET / _CALL); it decides busy bits, NT and the back link.</summary>
internal enum TaskSwitchSource
{
    /// <summary>JMP to a TSS or task gate: the old task becomes available.</summary>
    Jump,

    /// <summary>CALL to a TSS or task gate: the new task links back to the old one and gets NT.</summary>
    Call,

    /// <summary>IRET with NT set: back to the task in the back link; the old task becomes available.</summary>
    Iret,

    /// <summary>An interrupt or exception through a task gate: as <see cref="Call"/>.</summary>
    Interrupt,
}
