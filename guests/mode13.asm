; image
; mode13: a bootable disk image that sets VGA mode 13h (INT 10h AX=0013h, 320x200, 256 colours) and
; draws a moving pattern: pixel (x, y) = ((x + frame) XOR (y + frame / 2)) mod 256, one frame per
; BIOS timer tick at most (INT 1Ah, 18.2 Hz), with HLT in between.
; COM1: "mode13: running" at start, then "frame N" every 18 frames. Never exits.
%include "bootsect.inc"

VIDEO_SEG equ 0xA000
WIDTH     equ 320
HEIGHT    equ 200
FRAMES_PER_REPORT equ 18

program:
    mov si, msg_running
    call serial_puts
    mov ax, 0x0013
    int 0x10
    mov ax, VIDEO_SEG
    mov es, ax
    xor ah, ah
    int 0x1A
    mov [last_tick], dx

.loop:
    call draw_frame
    inc dword [frame]
    mov eax, [frame]
    xor edx, edx
    mov ecx, FRAMES_PER_REPORT
    div ecx
    test edx, edx
    jnz .wait
    mov si, msg_frame
    call serial_puts
    mov eax, [frame]
    call serial_putdec
    mov si, msg_newline
    call serial_puts
.wait:
    sti
    hlt
    xor ah, ah
    int 0x1A
    cmp dx, [last_tick]
    je .wait
    mov [last_tick], dx
    jmp .loop

; One frame into A000:0000: a base row (x + frame) built once, then each row is that row XOR
; (y + frame / 2) in every byte, written a dword at a time (fewer, wider VGA writes).
draw_frame:
    push es
    push ds
    pop es
    mov di, row
    mov al, [frame]
    mov cx, WIDTH
.base:
    stosb
    inc al
    loop .base
    pop es
    xor di, di
    mov bx, [frame]
    shr bx, 1                                ; BL = frame / 2 (mod 256)
    xor dx, dx                               ; DX = y
.row:
    mov al, dl
    add al, bl
    movzx ebp, al
    imul ebp, ebp, 0x01010101
    mov si, row
    mov cx, WIDTH / 4
.quad:
    lodsd
    xor eax, ebp
    stosd
    loop .quad
    inc dx
    cmp dx, HEIGHT
    jb .row
    ret

msg_running: db "mode13: running", 13, 10, 0
msg_frame:   db "frame ", 0
msg_newline: db 13, 10, 0

align 4
frame:     dd 0
last_tick: dw 0
row:       times WIDTH db 0

IMAGE_END
