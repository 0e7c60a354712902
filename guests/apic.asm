; apic: local APIC tests in the manner of kvm-unit-tests' x86/apic.c, one PASS/FAIL line each on COM1, then a
; SUMMARY line and isa-debug-exit 0 (all passed) or 1. Runs on Emu and on QEMU (-kernel apic.elf).
; Covers: CPUID and IA32_APIC_BASE, the version register, software enable, self-IPIs through the ICR with the
; in-service bit and PPR seen from the handler, TPR holding back a class, nesting by priority class, the error
; register, an NMI IPI, the timer one-shot, periodic and masked, and the 8259 reaching the CPU through LINT0.
%include "multiboot.inc"
%include "debug_exit.inc"
%include "harness.inc"

APIC       equ 0xFEE00000
APIC_VER   equ APIC + 0x030
APIC_TPR   equ APIC + 0x080
APIC_PPR   equ APIC + 0x0A0
APIC_EOI   equ APIC + 0x0B0
APIC_SVR   equ APIC + 0x0F0
APIC_ISR   equ APIC + 0x100
APIC_IRR   equ APIC + 0x200
APIC_ESR   equ APIC + 0x280
APIC_ICR   equ APIC + 0x300
APIC_LVTT  equ APIC + 0x320
APIC_LINT0 equ APIC + 0x350
APIC_TMICT equ APIC + 0x380
APIC_TMCCT equ APIC + 0x390
APIC_TDCR  equ APIC + 0x3E0
ICR_SELF   equ 0x00040000

; EXPECT_LOG name, n, v1, v2, v3: the interrupt log holds exactly n entries, the first ones v1, v2, v3.
%macro EXPECT_LOG 5
    mov eax, [irq_count]
    cmp eax, %2
    jne %%bad
%if %2 >= 1
    cmp dword [irq_log], %3
    jne %%bad
%endif
%if %2 >= 2
    cmp dword [irq_log + 4], %4
    jne %%bad
%endif
%if %2 >= 3
    cmp dword [irq_log + 8], %5
    jne %%bad
%endif
    xor eax, eax
%%bad:
    test eax, eax
    REPORT %1, z
%endmacro

; WAIT_IRQS n, iterations: spins with interrupts on until the log counts n, or the iterations run out.
%macro WAIT_IRQS 2
    mov ecx, %2
    sti
%%wait:
    cmp dword [irq_count], %1
    jae %%done
    dec ecx
    jnz %%wait
%%done:
    cli
%endmacro

_start:
    mov esp, mb_stack_top
    call harness_init

    ; Firmware (SeaBIOS on QEMU) may have left the 8259 unmasked at vector 8: mask both until pic_init.
    mov al, 0xFF
    out 0x21, al
    out 0xA1, al

    mov eax, 1
    cpuid
    test edx, 1 << 9
    REPORT "cpuid_apic", nz

    mov ecx, 0x1B
    rdmsr
    and eax, 0xFFFFF900
    cmp eax, 0xFEE00900
    REPORT "apic_base_msr_bsp_enabled", e

    mov eax, [APIC_VER]
    and eax, 0xFF
    cmp eax, 0x14
    REPORT "version_integrated", e
    mov eax, [APIC_VER]
    shr eax, 16
    and eax, 0xFF
    cmp eax, 5
    REPORT "version_max_lvt", ae

    mov dword [APIC_SVR], 0x1FF
    mov eax, [APIC_SVR]
    cmp eax, 0x1FF
    REPORT "svr_software_enable", e

    mov dword [irq_hook], hook

    ; A self-IPI arrives once; in its handler its ISR bit is set and PPR is its class; EOI clears ISR.
    call clear_log
    mov dword [APIC_ICR], ICR_SELF | 0x41
    mov eax, [APIC_ICR]
    test eax, 1 << 12
    REPORT "icr_not_busy", z
    WAIT_IRQS 1, 100000
    EXPECT_LOG "self_ipi", 1, 0x41, 0, 0
    test dword [seen_isr], 1 << (0x41 & 31)
    REPORT "isr_set_in_handler", nz
    cmp dword [seen_ppr], 0x40
    REPORT "ppr_in_handler", e
    mov eax, [APIC_ISR + 0x20]
    test eax, eax
    REPORT "eoi_clears_isr", z

    ; TPR holds back its class and those below; lowering it lets the interrupt in.
    call clear_log
    mov dword [APIC_TPR], 0x50
    mov dword [APIC_ICR], ICR_SELF | 0x45
    mov ecx, 10000
    sti
    call spin
    cli
    EXPECT_LOG "tpr_holds_back", 0, 0, 0, 0
    test dword [APIC_IRR + 0x20], 1 << (0x45 & 31)
    REPORT "tpr_irr_pending", nz
    mov dword [APIC_TPR], 0
    WAIT_IRQS 1, 100000
    EXPECT_LOG "tpr_lowered_delivers", 1, 0x45, 0, 0

    ; In the handler of 0x50 (with IF on): 0x70 nests at once, 0x38 waits until 0x50's EOI.
    call clear_log
    mov dword [nest], 1
    mov dword [APIC_ICR], ICR_SELF | 0x50
    WAIT_IRQS 3, 100000
    mov dword [nest], 0
    EXPECT_LOG "priority_nesting", 3, 0x50, 0x70, 0x38

    ; An NMI IPI comes with interrupts off.
    call clear_log
    mov dword [APIC_ICR], ICR_SELF | 0x400
    mov ecx, 10000
    call spin
    EXPECT_LOG "nmi_ipi_ignores_if", 1, 2, 0, 0

    ; Timer, one-shot at the bus clock: one interrupt, then the count stays at 0.
    call clear_log
    mov dword [APIC_TDCR], 0xB
    mov dword [APIC_LVTT], 0x60
    mov dword [APIC_TMICT], 100000
    WAIT_IRQS 1, 50000000
    mov ecx, 2000000
    sti
    call spin
    cli
    EXPECT_LOG "timer_oneshot", 1, 0x60, 0, 0
    mov eax, [APIC_TMCCT]
    test eax, eax
    REPORT "timer_oneshot_count_zero", z

    ; Periodic: it keeps coming until masked; masked, it stops.
    call clear_log
    mov dword [APIC_LVTT], 0x20061
    mov dword [APIC_TMICT], 200000
    WAIT_IRQS 5, 200000000
    cmp dword [irq_count], 5
    REPORT "timer_periodic", ae
    mov dword [APIC_LVTT], 0x30061
    mov ecx, 10000                 ; a tick already in the IRR when the mask came still arrives: let it
    sti
    call spin
    cli
    mov ebx, [irq_count]
    mov ecx, 2000000
    sti
    call spin
    cli
    cmp ebx, [irq_count]
    REPORT "timer_mask_stops", e
    mov eax, [APIC_TMCCT]
    test eax, eax
    REPORT "timer_masked_still_counts", nz
    mov dword [APIC_TMICT], 0

    ; The 8259 (IRQ 0 from the PIT at about 1 kHz) reaches the CPU through LINT0 as ExtINT, not when it is masked.
    call pic_init
    call clear_log
    mov dword [APIC_LINT0], 0x700
    WAIT_IRQS 3, 200000000
    EXPECT_LOG "lint0_extint_8259", 3, 0x20, 0x20, 0x20
    mov dword [APIC_LINT0], 0x10700
    call clear_log
    mov ecx, 5000000
    sti
    call spin
    cli
    EXPECT_LOG "lint0_masked_blocks_8259", 0, 0, 0, 0
    mov al, 0xFF
    out 0x21, al

    ; An illegal vector is an error the ESR shows after a write latches it (last: QEMU 7.2 accepts vector 3 into
    ; the IRR and delivers it, where the SDM refuses it with ESR bit 5).
    mov dword [APIC_ESR], 0
    mov dword [APIC_ICR], ICR_SELF | 0x03
    mov dword [APIC_ESR], 0
    mov eax, [APIC_ESR]
    test eax, 1 << 5
    REPORT "esr_send_illegal_vector", nz
    mov dword [APIC_ESR], 0
    mov dword [APIC_ESR], 0
    mov eax, [APIC_ESR]
    test eax, eax
    REPORT "esr_cleared_by_write", z

    jmp harness_done

; The interrupt hook: records ISR and PPR as the handler sees them, nests for vector 0x50, then EOIs (the 8259
; for its vectors 0x20-0x2F, the APIC for the rest; the NMI needs none).
hook:
    cmp eax, 2
    je .done
    cmp eax, 0x30
    jb .pic
    mov edx, eax
    shr edx, 5
    shl edx, 4
    mov edx, [APIC_ISR + edx]
    mov [seen_isr], edx
    mov edx, [APIC_PPR]
    mov [seen_ppr], edx
    cmp eax, 0x50
    jne .eoi
    cmp dword [nest], 0
    je .eoi
    sti
    mov dword [APIC_ICR], ICR_SELF | 0x70
    mov ecx, 10000
    call spin
    mov dword [APIC_ICR], ICR_SELF | 0x38
    mov ecx, 10000
    call spin
    cli
.eoi:
    mov dword [APIC_EOI], 0
.done:
    ret
.pic:
    mov al, 0x20
    out 0x20, al
    ret

; The 8259 pair at vectors 0x20/0x28 with only IRQ 0 unmasked; PIT channel 0 in mode 2 at 1193 (about 1 kHz).
pic_init:
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xA1, al
    mov al, 0x01
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    mov al, 0x34
    out 0x43, al
    mov al, 1193 & 0xFF
    out 0x40, al
    mov al, 1193 >> 8
    out 0x40, al
    ret

align 4
seen_isr: dd 0
seen_ppr: dd 0
nest:     dd 0

%include "serial.inc"

MULTIBOOT_END 16384
