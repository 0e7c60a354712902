; hello: prints "Hello from Emu" on COM1 and exits through isa-debug-exit with value 0.
%include "multiboot.inc"

COM1 equ 0x3F8

_start:
    mov esi, message
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5            ; line status: wait for THR empty
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    mov dx, 0x501               ; isa-debug-exit: exit code (0 << 1) | 1
    xor eax, eax
    out dx, al
    cli
.halt:
    hlt
    jmp .halt

message: db "Hello from Emu", 13, 10, 0

MULTIBOOT_END
