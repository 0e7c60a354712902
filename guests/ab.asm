; ab: the live-migration test guest, after QEMU's a-b bootblock (tests/migration/i386/a-b-bootblock.S).
; Prints "A" once, then forever: increments the first byte of every 4 KiB page in the region and
; prints "B" after each full pass. The region starts at 2 MiB (the guest lives below) and ends at
; RAM top - 1 MiB, RAM top taken from the multiboot mem_upper (flag bit 0) or else the memory map
; (flag bit 6). The first bytes are zeroed before "A". So at any moment the region's first bytes read
; v+1 ... v+1, v ... v (mod 256).
; Multiboot command line (flag bit 2, QEMU's -append):
;   region=N   region size in MiB from 2 MiB, clamped to RAM top - 1 MiB (default: all of it)
;   work=K     busy-loop iterations after each page (default 0), to set the dirty rate
; Never exits. Prints "ab: no RAM size" and exits with value 2 when the multiboot info has neither.
%include "multiboot.inc"
%include "debug_exit.inc"

REGION_START equ 0x200000
MIB          equ 0x100000
PAGE_SIZE    equ 4096

_start:
    mov esp, mb_stack_top
    call serial_init

    ; RAM top → EBP
    test dword [ebx + MBI_FLAGS], 1 << 0
    jz .from_mmap
    mov ebp, [ebx + MBI_MEM_UPPER]         ; KiB above 1 MiB
    shl ebp, 10
    add ebp, MIB
    jmp .have_top
.from_mmap:
    test dword [ebx + MBI_FLAGS], 1 << 6
    jz .no_ram_size
    mov esi, [ebx + MBI_MMAP_ADDR]
    mov ecx, [ebx + MBI_MMAP_LEN]
    add ecx, esi                           ; end of the map
    xor ebp, ebp
.entry:                                    ; entry: size(4) base(8) length(8) type(4); size excludes itself
    cmp esi, ecx
    jae .mmap_done
    cmp dword [esi + 20], 1                ; available RAM
    jne .entry_next
    cmp dword [esi + 8], 0                 ; base above 4 GiB: not ours
    jne .entry_next
    mov eax, [esi + 4]
    cmp eax, MIB
    ja .entry_next                         ; the region must contain 1 MiB
    mov edx, [esi + 16]
    test edx, edx
    jnz .top_4g                            ; length above 4 GiB
    add eax, [esi + 12]
    jc .top_4g
    cmp eax, MIB
    jbe .entry_next
    mov ebp, eax
    jmp .mmap_done
.top_4g:
    mov ebp, 0xFFFFF000
    jmp .mmap_done
.entry_next:
    add esi, [esi]
    add esi, 4
    jmp .entry
.mmap_done:
    test ebp, ebp
    jz .no_ram_size
.have_top:
    lea esi, [ebp - MIB]
    and esi, -PAGE_SIZE                    ; ESI = region end (exclusive)

    xor edi, edi                           ; EDI = work per page
    test dword [ebx + MBI_FLAGS], 1 << 2
    jz .args_done
    push esi
    mov esi, [ebx + MBI_CMDLINE]
    push edi
    mov edi, key_work
    call cmdline_find_uint
    pop edi
    jc .no_work
    mov edi, eax
.no_work:
    push edi
    mov edi, key_region
    call cmdline_find_uint
    pop edi
    pop esi
    jc .args_done
    cmp eax, 4096 - 2                      ; beyond 4 GiB: no clamp needed
    jae .args_done
    shl eax, 20
    add eax, REGION_START
    cmp eax, esi
    jae .args_done
    mov esi, eax
.args_done:
    mov ebx, edi                           ; EBX = work, ESI = end

    ; Start from zero so the invariant holds whatever the firmware left in high RAM.
    mov edi, REGION_START
    jmp .clear_test
.clear:
    mov byte [edi], 0
    add edi, PAGE_SIZE
.clear_test:
    cmp edi, esi
    jb .clear

    mov al, 'A'
    call serial_putc
    test ebx, ebx
    jnz .pass_work

    ; The hot loops: one store per page, nothing else.
.pass:
    mov edi, REGION_START
    cmp edi, esi
    jae .pass_done
.page:
    inc byte [edi]
    add edi, PAGE_SIZE
    cmp edi, esi
    jb .page
.pass_done:
    mov al, 'B'
    call serial_putc
    jmp .pass

.pass_work:
    mov edi, REGION_START
    cmp edi, esi
    jae .pass_work_done
.page_work:
    inc byte [edi]
    mov ecx, ebx
.spin:
    dec ecx
    jnz .spin
    add edi, PAGE_SIZE
    cmp edi, esi
    jb .page_work
.pass_work_done:
    mov al, 'B'
    call serial_putc
    jmp .pass_work

.no_ram_size:
    mov esi, msg_no_ram
    call serial_puts
    DEBUG_EXIT 2

key_region: db "region=", 0
key_work:   db "work=", 0
msg_no_ram: db "ab: no RAM size", 13, 10, 0

%include "serial.inc"
%include "cmdline.inc"

MULTIBOOT_END 4096
