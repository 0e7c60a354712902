; probe386: 386 exactness probes (issue 15's findings and their neighbours), one PASS/FAIL line each on COM1,
; then a SUMMARY and isa-debug-exit 0 (all passed) or 1. Each probe is the instruction bytes a reviewer found
; wrong, run bare-metal; the unit tests in tests/Emu.UnitTests/Cpu/Exactness386Tests.cs hold the same cases.
%include "multiboot.inc"
%include "debug_exit.inc"
%include "harness.inc"

FLAG_CF equ 0x001
FLAG_OF equ 0x800

; FLAGS_ARE name, mask, expected: pushfd, and the flags under mask must be exactly expected.
%macro FLAGS_ARE 3
    pushfd
    pop eax
    and eax, %2
    cmp eax, %3
    REPORT %1, e
%endmacro

_start:
    mov esp, mb_stack_top
    call harness_init

    ; o32 POP SS from a 16-bit stack loading a 32-bit SS: the old stack's size steps the pointer (SP wraps
    ; 0xFFFC → 0, ESP's upper half stays): ESP = 0x00020000, not 0x00030000.
    mov dword [0xFFFC], 0x10
    mov [saved_esp], esp
    mov ax, 0x18
    mov ss, ax
    mov esp, 0x0002FFFC
    pop ss
    mov ebx, esp
    mov esp, [saved_esp]
    cmp ebx, 0x00020000
    REPORT "pop_ss_o32_steps_by_old_stack_size", e

    ; o32 ENTER 8, 36 on a 16-bit stack writes BP only: EBP = 0x0001FFFC, ESP = 0x0001FFE4.
    mov [saved_esp], esp
    mov [saved_ebp], ebp
    mov ax, 0x18
    mov ss, ax
    mov esp, 0x00010000
    mov ebp, 0x00011000
    enter 8, 36
    mov ebx, ebp
    mov edx, esp
    mov ax, 0x10
    mov ss, ax
    mov esp, [saved_esp]
    mov ebp, [saved_ebp]
    cmp ebx, 0x0001FFFC
    REPORT "enter_o32_16bit_stack_writes_bp_only", e
    cmp edx, 0x0001FFE4
    REPORT "enter_o32_16bit_stack_esp", e

    ; AAS with AF=1 and AL < 6 borrows into AH: 0x0205 → 0x000F, CF=1.
    mov ah, 0x10
    sahf
    mov eax, 0x12340205
    aas
    setc cl
    cmp eax, 0x1234000F
    REPORT "aas_borrows_into_ah", e
    cmp cl, 1
    REPORT "aas_sets_cf", e

    ; AAA with AL > 9 carries into AH: 0x01FA → 0x0300, CF=1.
    mov eax, 0x000001FA
    aaa
    cmp ax, 0x0300
    REPORT "aaa_carries_into_ah", e

    ; RCR/RCL by an immediate count above 1: OF is the sign change, not the first step's MSB ^ CF.
    mov al, 0
    stc
    rcr al, 2
    FLAGS_ARE "rcr_imm_count2_of", FLAG_CF | FLAG_OF, 0
    mov al, 0x40
    clc
    rcl al, 2
    FLAGS_ARE "rcl_imm_count2_of", FLAG_CF | FLAG_OF, FLAG_CF

    ; A byte rotates through CF in 9 steps: RCR by 9 changes no flag.
    xor eax, eax
    mov al, 0x80
    rcr al, 9
    FLAGS_ARE "rcr_byte_by_9_keeps_flags", FLAG_CF | FLAG_OF, 0

    ; SHR by more than 1 clears OF (the last step's input already had a zero sign).
    mov eax, 0x80000000
    shr eax, 2
    FLAGS_ARE "shr_count2_clears_of", FLAG_OF, 0
    mov ax, 0x8000
    shr ax, 2
    FLAGS_ARE "shr16_count2_clears_of", FLAG_OF, 0

    ; SHLD by 2: 0x40000000 → 0x80000000 → 0, the last step changed the sign: OF=1, CF=1.
    mov eax, 0x40000000
    xor ebx, ebx
    shld eax, ebx, 2
    FLAGS_ARE "shld_count2_of_from_last_step", FLAG_CF | FLAG_OF, FLAG_CF | FLAG_OF

    ; Implicit stack accesses size the stack pointer by SS.B, whatever the operand size: on a 16-bit stack SP
    ; wraps and ESP's upper half stays (PUSHAD, o32 PUSH imm, o32 CALL/RET).
    mov [saved_esp], esp
    mov ax, 0x18
    mov ss, ax
    mov esp, 0x00010000            ; SP 0: the pushes wrap to 0xFFFC and down (SP 2 would straddle the limit: #SS)
    pushad
    mov ebx, esp
    mov esp, 0x00030000
    push dword 0x11223344
    mov edx, esp
    mov ecx, [0xFFFC]
    mov esp, 0x00050000
    call .callee
    mov edi, esp
    mov ax, 0x10
    mov ss, ax
    mov esp, [saved_esp]
    cmp ebx, 0x0001FFE0
    REPORT "pushad_16bit_stack_wraps_sp", e
    cmp edx, 0x0003FFFC
    REPORT "push_imm32_16bit_stack_wraps_sp", e
    cmp ecx, 0x11223344
    REPORT "push_imm32_16bit_stack_writes_at_ss_sp", e
    cmp edi, 0x00050000
    REPORT "call_ret_16bit_stack", e
    cmp dword [callee_esp], 0x0005FFFC
    REPORT "call_16bit_stack_wraps_sp", e
    jmp .stack_done
.callee:
    mov [callee_esp], esp
    ret
.stack_done:

    ; The address size governs string and loop counters: a16 wraps SI and counts CX, ESI's and ECX's upper
    ; halves stay.
    mov esi, 0x0001FFFF
    a16 lodsb
    cmp esi, 0x00010000
    REPORT "a16_lodsb_wraps_si", e
    mov ecx, 0x00010000
    xor edx, edx
.loop16:
    inc edx
    a16 loop .loop16_taken
    jmp .loop16_done
.loop16_taken:
    cmp edx, 1
    je .loop16_done
.loop16_done:
    cmp ecx, 0x0001FFFF
    REPORT "a16_loop_counts_cx", e
    mov ecx, 0x00010000
    a16 jcxz .cx_zero
    mov eax, 1
    jmp .cx_done
.cx_zero:
    xor eax, eax
.cx_done:
    test eax, eax
    REPORT "a16_jcxz_tests_cx", z

    ; Partial registers: 8- and 16-bit writes keep the rest; CBW and CWD write AX and DX only.
    mov eax, 0x12345678
    mov ah, 0xAB
    cmp eax, 0x1234AB78
    REPORT "mov_ah_keeps_rest", e
    mov eax, 0xAAAA0001
    mov ebx, 0xBBBB0002
    xchg ax, bx
    cmp eax, 0xAAAA0002
    REPORT "xchg16_keeps_upper", e
    mov eax, 0x12340080
    cbw
    cmp eax, 0x1234FF80
    REPORT "cbw_writes_ax_only", e
    mov eax, 0x00008000
    mov edx, 0x55550000
    cwd
    cmp edx, 0x5555FFFF
    REPORT "cwd_writes_dx_only", e

    ; Shifts and rotates of a byte or word by counts at or past the width.
    mov al, 0x81
    rol al, 8
    FLAGS_ARE "rol8_by_8_cf_is_lsb", FLAG_CF | FLAG_OF, FLAG_CF
    mov al, 0x80
    sar al, 9
    setc cl
    cmp al, 0xFF
    REPORT "sar8_by_9_fills_sign", e
    cmp cl, 1
    REPORT "sar8_by_9_cf_is_sign", e
    mov ax, 0x0001
    shl ax, 16
    setc cl
    test ax, ax
    REPORT "shl16_by_16_is_zero", z
    cmp cl, 1
    REPORT "shl16_by_16_cf_is_bit0", e
    mov ax, 0x8000
    shr ax, 17
    setc cl
    cmp cl, 0
    REPORT "shr16_by_17_cf_clear", e

    ; BT with a register offset past 31 addresses the bit string beyond the dword.
    mov dword [bit_string], 0
    mov dword [bit_string + 4], 0x4
    mov eax, 34
    bt [bit_string], eax
    setc cl
    cmp cl, 1
    REPORT "bt_mem_reg_offset_past_31", e

    ; Last, since firmware (SeaBIOS on QEMU) initialises the 8259 and Emu's -kernel path does not: an 8259
    ; that nobody initialised since reset does not interrupt, though the PIT's channel 0 runs (two wraps seen).
    call clear_log
    xor ebx, ebx                   ; wraps seen
    mov esi, 0xFFFF                ; the previous count
    mov edi, 200000000             ; bound on polls
    sti
.poll:
    mov al, 0x00                   ; latch channel 0
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    movzx eax, ax
    cmp eax, esi
    jbe .same
    inc ebx                        ; the count went up: it reloaded
.same:
    mov esi, eax
    cmp ebx, 2
    jae .polled
    dec edi
    jnz .poll
.polled:
    cli
    cmp ebx, 2
    REPORT "pit_channel0_runs_from_reset", ae
    cmp dword [irq_count], 0
    REPORT "uninitialised_8259_does_not_interrupt", e

    jmp harness_done

align 4
saved_esp: dd 0
saved_ebp: dd 0
callee_esp: dd 0
bit_string: dd 0, 0

%include "serial.inc"

MULTIBOOT_END 16384
