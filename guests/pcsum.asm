; pcsum: the postcopy page-integrity guest. Every 4 KiB page of the region holds a pattern whose
; 1024 32-bit words sum to 0 (mod 2^32), and whose first word is the number of the pass that wrote it:
;   word 0 = pass p, words 1..1022 = p * 9E3779B9h + page address + i * 7F4A7C15h, word 1023 = -(sum).
; Prints "A" after the first fill (pass 0), then forever: for each page in order, checks it (sum 0,
; first word = p - 1) and rewrites it for pass p; prints "P" after each full pass. A page that fails
; prints "BAD <page number>" (address / 4096, decimal) and exits with value 1 through isa-debug-exit.
; The CPU never checks a page it is in the middle of writing, so a failed check on the destination of
; a postcopy migration means it saw a page that was not fully placed (a mixed or zero tail) or a stale
; one (a page dirtied before the switch that was neither resent nor discarded).
; The region is 2 MiB .. RAM top - 1 MiB as in ab.asm (RAM top from multiboot mem_upper).
; Multiboot command line: region=N   region size in MiB from 2 MiB, clamped (default: all of it).
; Prints "pcsum: no RAM size" and exits with value 2 when the multiboot info has no mem_upper.
%include "multiboot.inc"
%include "debug_exit.inc"

REGION_START equ 0x200000
MIB          equ 0x100000
PAGE_SIZE    equ 4096
PAGE_WORDS   equ PAGE_SIZE / 4
TAG_MULT     equ 0x9E3779B9
WORD_STEP    equ 0x7F4A7C15

_start:
    mov esp, mb_stack_top
    call serial_init

    test dword [ebx + MBI_FLAGS], 1 << 0
    jz .no_ram_size
    mov ebp, [ebx + MBI_MEM_UPPER]         ; KiB above 1 MiB
    shl ebp, 10
    and ebp, -PAGE_SIZE                    ; EBP = RAM top - 1 MiB, page aligned: the region end

    test dword [ebx + MBI_FLAGS], 1 << 2
    jz .args_done
    mov esi, [ebx + MBI_CMDLINE]
    mov edi, key_region
    call cmdline_find_uint
    jc .args_done
    cmp eax, 4096 - 2
    jae .args_done
    shl eax, 20
    add eax, REGION_START
    cmp eax, ebp
    jae .args_done
    mov ebp, eax
.args_done:

    ; Pass 0: fill every page.
    xor edx, edx
    mov edi, REGION_START
    jmp .fill_test
.fill:
    call write_page
    add edi, PAGE_SIZE
.fill_test:
    cmp edi, ebp
    jb .fill
    mov al, 'A'
    call serial_putc

.pass:
    inc edx                                ; EDX = this pass
    mov edi, REGION_START
    cmp edi, ebp
    jae .pass_done
.page:
    call check_page
    jnz .bad
    call write_page
    add edi, PAGE_SIZE
    cmp edi, ebp
    jb .page
.pass_done:
    mov al, 'P'
    call serial_putc
    jmp .pass

.bad:
    mov esi, msg_bad
    call serial_puts
    mov eax, edi
    shr eax, 12
    call serial_putdec
    mov esi, msg_crlf
    call serial_puts
    DEBUG_EXIT 1

.no_ram_size:
    mov esi, msg_no_ram
    call serial_puts
    DEBUG_EXIT 2

; Check the page at EDI written by pass EDX - 1: ZF set when its first word is EDX - 1 and its words
; sum to 0. Preserves EDX, EDI, EBP; clobbers EAX, ECX, ESI.
check_page:
    lea eax, [edx - 1]
    cmp [edi], eax
    jne .out
    xor eax, eax
    mov esi, edi
    mov ecx, PAGE_WORDS / 8
.sum:
    add eax, [esi]
    add eax, [esi + 4]
    add eax, [esi + 8]
    add eax, [esi + 12]
    add eax, [esi + 16]
    add eax, [esi + 20]
    add eax, [esi + 24]
    add eax, [esi + 28]
    add esi, 32
    dec ecx
    jnz .sum
    test eax, eax
.out:
    ret

; Write the page at EDI for pass EDX (the pattern above), first word to last.
; Preserves EDX, EDI, EBP; clobbers EAX, EBX, ECX, ESI.
write_page:
    mov [edi], edx
    mov ebx, edx                           ; EBX = running sum
    imul eax, edx, TAG_MULT
    add eax, edi                           ; EAX = word 1
    lea esi, [edi + 4]
    mov ecx, PAGE_WORDS - 2
.word:
    mov [esi], eax
    add ebx, eax
    add eax, WORD_STEP
    add esi, 4
    dec ecx
    jnz .word
    neg ebx
    mov [esi], ebx
    ret

key_region: db "region=", 0
msg_bad:    db "BAD ", 0
msg_crlf:   db 13, 10, 0
msg_no_ram: db "pcsum: no RAM size", 13, 10, 0

%include "serial.inc"
%include "cmdline.inc"

MULTIBOOT_END 4096
