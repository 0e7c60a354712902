namespace Emu.Machine.Devices.Apic;

/// <summary>The xAPIC's memory-mapped registers by offset from the APIC base (Intel SDM vol. 3, table 10-1).</summary>
internal static class ApicRegister
{
    public const int Id = 0x020, Version = 0x030, Tpr = 0x080, Apr = 0x090, Ppr = 0x0A0, Eoi = 0x0B0, Rrd = 0x0C0,
        Ldr = 0x0D0, Dfr = 0x0E0, Svr = 0x0F0, Isr = 0x100, Tmr = 0x180, Irr = 0x200, Esr = 0x280, IcrLow = 0x300,
        IcrHigh = 0x310, LvtTimer = 0x320, LvtThermal = 0x330, LvtPerf = 0x340, LvtLint0 = 0x350, LvtLint1 = 0x360,
        LvtError = 0x370, TimerInitialCount = 0x380, TimerCurrentCount = 0x390, TimerDivide = 0x3E0;

    /// <summary>The LVT entries in QEMU's order (its lvt[] array): timer, thermal, performance, LINT0, LINT1, error.</summary>
    public const int LvtIndexTimer = 0, LvtIndexLint0 = 3, LvtIndexLint1 = 4, LvtIndexError = 5, LvtCount = 6;

    public const uint LvtMasked = 1u << 16, LvtTimerPeriodic = 1u << 17, LvtLevelTriggered = 1u << 15, LvtRemoteIrr = 1u << 14;

    /// <summary>Delivery modes (bits 8–10 of an LVT entry or the ICR).</summary>
    public const uint ModeFixed = 0, ModeLowestPriority = 1, ModeSmi = 2, ModeNmi = 4, ModeInit = 5, ModeStartup = 6, ModeExtInt = 7;

    public const uint SvrEnabled = 1u << 8;

    /// <summary>ESR bits: send and receive illegal vector, illegal register address.</summary>
    public const uint ErrorSendIllegalVector = 1u << 5, ErrorReceiveIllegalVector = 1u << 6, ErrorIllegalRegister = 1u << 7;

    /// <summary>Version 0x14 (an integrated APIC) with six LVT entries, as QEMU's.</summary>
    public const uint VersionValue = 0x14 | ((LvtCount - 1u) << 16);

    /// <summary>IA32_APIC_BASE bits.</summary>
    public const ulong BaseBsp = 1UL << 8, BaseEnable = 1UL << 11, BaseAddressMask = 0xFFFF_F000;

    public const ulong DefaultBase = 0xFEE0_0000;
}
