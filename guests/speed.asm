; speed: guest MIPS benchmark. Prints "S", executes exactly 1,000,000,000 instructions, prints "E" and
; exits through isa-debug-exit with value 0.
;
; The counted stretch runs from `bench_start` up to and including the last `jnz .loop`:
;   setup:  10 instructions, executed once                         =            10
;   body:   10 instructions × 99,999,999 iterations                =   999,999,990
;   total                                                          = 1,000,000,000
; Body mix per iteration: 6 ALU (add, xor, rol, add, sub, and), 1 load, 1 store, the loop counter
; (dec) and the loop branch (jnz, taken on every iteration but the last).
; The data the loop loads and stores lives in its own 4 KiB page (the stack page), away from the
; code, so the stores never hit a page with translated code.
%include "multiboot.inc"
%include "debug_exit.inc"

ITERATIONS equ 99_999_999

_start:
    mov esp, mb_stack_top
    call serial_init
    mov al, 'S'
    call serial_putc

bench_start:
    mov ecx, ITERATIONS                    ;  1
    mov esi, mb_stack_top - 64             ;  2  data: 64 bytes at the top of the stack page
    xor eax, eax                           ;  3
    xor ebx, ebx                           ;  4
    xor edx, edx                           ;  5
    mov edi, 0x12345678                    ;  6
    mov [esi], edi                         ;  7
    mov [esi + 4], eax                     ;  8
    add ebx, 1                             ;  9
    nop                                    ; 10
.loop:
    add eax, ecx                           ;  1  ALU
    mov edx, [esi]                         ;  2  load
    xor edx, eax                           ;  3  ALU
    mov [esi + 4], edx                     ;  4  store
    rol ebx, 3                             ;  5  ALU
    add ebx, edx                           ;  6  ALU
    sub edi, ebx                           ;  7  ALU
    and edx, 0xFF                          ;  8  ALU
    dec ecx                                ;  9  loop counter
    jnz .loop                              ; 10  taken branch
bench_end:

    mov al, 'E'
    call serial_putc
    DEBUG_EXIT 0

%include "serial.inc"

MULTIBOOT_END 4096
