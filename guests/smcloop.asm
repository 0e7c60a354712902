; smcloop: rewrites hot code forever, for tier 2's bounded code cache. A function on its own page is called
; 20,000 times (past tier 2's threshold of 10,000 runs, so its block is compiled), then the immediate of its first
; instruction is patched, which drops the block and its compiled code; and again, without end. Each round's result is checked: a stale block
; prints "smcloop: stale" and exits with value 1. Prints "S" once at the start and "." every 256 rounds.
%include "multiboot.inc"
%include "debug_exit.inc"

_start:
    mov esp, mb_stack_top
    call serial_init
    mov al, 'S'
    call serial_putc
    xor edi, edi                        ; rounds so far
round:
    mov ecx, 20000
.call:
    call patched_fn
    cmp eax, edi                        ; the function returns the immediate this round wrote
    jne stale
    dec ecx
    jnz .call
    inc edi
    mov [patched_fn.imm + 1], edi       ; rewrite the next round's code
    test edi, 0xFF
    jnz round
    mov al, '.'
    call serial_putc
    jmp round

stale:
    mov esi, stale_message
    call serial_puts
    DEBUG_EXIT 1

stale_message: db "smcloop: stale", 13, 10, 0

%include "serial.inc"

    align 4096
patched_fn:
.imm:
    mov eax, 0
    add eax, 0
    ret

MULTIBOOT_END 4096
