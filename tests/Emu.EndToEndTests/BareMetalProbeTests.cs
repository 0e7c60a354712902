using System.Text.RegularExpressions;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// The bare-metal probe guests (guests/include/harness.inc): each prints a PASS or FAIL line per check and a
/// SUMMARY, then exits through isa-debug-exit. Run on Emu, and on QEMU beside it where QEMU is installed.
/// </summary>
public sealed partial class BareMetalProbeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>The local APIC checks apic.asm makes, in its order.</summary>
    public static readonly string[] ApicChecks =
    [
        "cpuid_apic", "apic_base_msr_bsp_enabled", "version_integrated", "version_max_lvt", "svr_software_enable",
        "icr_not_busy", "self_ipi", "isr_set_in_handler", "ppr_in_handler", "eoi_clears_isr", "tpr_holds_back",
        "tpr_irr_pending", "tpr_lowered_delivers", "priority_nesting", "nmi_ipi_ignores_if", "timer_oneshot",
        "timer_oneshot_count_zero", "timer_periodic", "timer_mask_stops", "timer_masked_still_counts",
        "lint0_extint_8259", "lint0_masked_blocks_8259", "esr_send_illegal_vector", "esr_cleared_by_write",
    ];

    [Fact]
    public void ApicGuestPassesEveryCheck()
    {
        (int exit, string output) = Run(EmuProcess.EmuPath, "apic");
        AssertAllPassed(output, ApicChecks);
        Assert.Equal(1, exit); // isa-debug-exit 0 → (0 << 1) | 1
    }

    /// <summary>
    /// QEMU 7.2 TCG agrees on every APIC check but one: it takes an illegal vector (3) from the ICR into the IRR
    /// and delivers it, where the SDM refuses it and sets ESR bit 5 (send illegal vector), as Emu does.
    /// </summary>
    [SkippableFact]
    public void ApicGuestAgreesWithQemu()
    {
        string? qemu = EmuProcess.QemuPath;
        Skip.If(qemu == null, "qemu-system-i386 is not installed (Debian's qemu-system-x86); nothing to compare with");
        (_, string output) = Run(qemu!, "apic");
        AssertAllPassed(output, ApicChecks.Where(c => !c.StartsWith("esr_", StringComparison.Ordinal)));
    }

    /// <summary>The 386 exactness probes probe386.asm makes, in its order.</summary>
    public static readonly string[] Probe386Checks =
    [
        "pop_ss_o32_steps_by_old_stack_size", "enter_o32_16bit_stack_writes_bp_only", "enter_o32_16bit_stack_esp",
        "aas_borrows_into_ah", "aas_sets_cf", "aaa_carries_into_ah", "rcr_imm_count2_of", "rcl_imm_count2_of",
        "rcr_byte_by_9_keeps_flags", "shr_count2_clears_of", "shr16_count2_clears_of", "shld_count2_of_from_last_step",
        "pushad_16bit_stack_wraps_sp", "push_imm32_16bit_stack_wraps_sp", "push_imm32_16bit_stack_writes_at_ss_sp",
        "call_ret_16bit_stack", "call_16bit_stack_wraps_sp", "a16_lodsb_wraps_si", "a16_loop_counts_cx",
        "a16_jcxz_tests_cx", "mov_ah_keeps_rest", "xchg16_keeps_upper", "cbw_writes_ax_only", "cwd_writes_dx_only",
        "rol8_by_8_cf_is_lsb", "sar8_by_9_fills_sign", "sar8_by_9_cf_is_sign", "shl16_by_16_is_zero",
        "shl16_by_16_cf_is_bit0", "shr16_by_17_cf_clear", "bt_mem_reg_offset_past_31",
        "pit_channel0_runs_from_reset", "uninitialised_8259_does_not_interrupt",
    ];

    [Fact]
    public void Probe386GuestPassesEveryCheck()
    {
        (int exit, string output) = Run(EmuProcess.EmuPath, "probe386");
        AssertAllPassed(output, Probe386Checks);
        Assert.Equal(1, exit);
    }

    /// <summary>
    /// QEMU 7.2 agrees with every probe but three: its o32 ENTER on a 16-bit stack writes all of EBP (the SDM and
    /// a 386 write BP only), and under QEMU SeaBIOS has initialised the 8259 before the guest runs, so the last
    /// two probes (an 8259 untouched since reset) cannot be made there.
    /// </summary>
    [SkippableFact]
    public void Probe386GuestAgreesWithQemuWhereQemuIsRight()
    {
        string? qemu = EmuProcess.QemuPath;
        Skip.If(qemu == null, "qemu-system-i386 is not installed (Debian's qemu-system-x86); nothing to compare with");
        (_, string output) = Run(qemu!, "probe386");
        string[] lines = output.Split('\n', StringSplitOptions.TrimEntries);
        foreach (string check in Probe386Checks[..^2].Where(c => c != "enter_o32_16bit_stack_writes_bp_only"))
        {
            Assert.True(lines.Contains($"PASS {check}"), $"'{check}' did not pass on QEMU; it said:\n{output}");
        }
    }

    private static (int Exit, string Output) Run(string program, string guest)
    {
        using var vm = new EmuProcess($"{guest}-{Path.GetFileName(program)}") { Program = program };
        // QEMU's P6 closest to Emu's Pentium Pro (Emu itself accepts only its own model).
        string[] cpu = program == EmuProcess.EmuPath ? [] : ["-cpu", "pentium2"];
        vm.Start([.. cpu, "-kernel", EmuProcess.GuestPath(guest), "-display", "none", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0x501,iosize=2"]);
        int exit = vm.WaitForExit(Timeout);
        return (exit, vm.StandardOutput);
    }

    private static void AssertAllPassed(string output, IEnumerable<string> checks)
    {
        string[] lines = output.Split('\n', StringSplitOptions.TrimEntries);
        foreach (string check in checks)
        {
            Assert.True(lines.Contains($"PASS {check}"), $"'{check}' did not pass; the guest said:\n{output}");
        }

        Assert.Matches(Summary(), output);
    }

    [GeneratedRegex(@"SUMMARY: \d+ passed, \d+ failed")]
    private static partial Regex Summary();
}
