; smc: self-modifying code. Each case runs some code, rewrites it with ordinary stores and runs it
; again; an emulator that keeps executing translated code it should have dropped runs the old code.
;   case 1  patch the imm32 of `mov eax, imm32` in a function on another 4 KiB page, call it again
;   case 2  swap an instruction: `inc eax` (40h) becomes `dec eax` (48h), in a function on this page
;   case 3  inside a running loop, store into the immediate of an instruction a few bytes ahead in
;           the same page (and the same translated block), then execute it in the same iteration
; Prints "SMC ok" and exits with value 0 when every case ran the new code; prints
; "smc: case N ran stale code" and "SMC stale" and exits with value 1 at the first case that did not.
%include "multiboot.inc"
%include "debug_exit.inc"

_start:
    mov esp, mb_stack_top
    call serial_init

    ; case 1: immediate patch on another page
    mov byte [case_no], '1'
    call far_page_fn
    cmp eax, 0x11111111
    jne stale
    mov dword [far_page_fn.imm + 1], 0x22222222
    call far_page_fn
    cmp eax, 0x22222222
    jne stale

    ; case 2: instruction swap on this page
    mov byte [case_no], '2'
    mov eax, 10
    call step_fn
    cmp eax, 11
    jne stale
    mov byte [step_fn.op], 0x48            ; dec eax
    mov eax, 10
    call step_fn
    cmp eax, 9
    jne stale

    ; case 3: rewrite ahead of itself inside a running loop. Iteration i (ECX = 5 .. 1) stores ECX
    ; into the immediate below, then adds it: the sum is 5+4+3+2+1 = 15 only if every store was seen.
    mov byte [case_no], '3'
    mov ecx, 5
    xor ebx, ebx
.loop:
    mov [.imm + 1], ecx
.imm:
    mov eax, 0x7FFFFFFF
    add ebx, eax
    dec ecx
    jnz .loop
    cmp ebx, 15
    jne stale

    mov esi, msg_ok
    call serial_puts
    DEBUG_EXIT 0

stale:
    mov esi, msg_case
    call serial_puts
    mov esi, msg_stale
    call serial_puts
    DEBUG_EXIT 1

step_fn:
.op:
    inc eax
    ret

msg_ok:    db "SMC ok", 13, 10, 0
msg_case:  db "smc: case "
case_no:   db "0 ran stale code", 13, 10, 0
msg_stale: db "SMC stale", 13, 10, 0

%include "serial.inc"

align 4096
far_page_fn:
.imm:
    mov eax, 0x11111111
    ret

MULTIBOOT_END 4096
