; Emu BIOS: a 64 KiB ROM for a PC with a 386+ CPU. The machine maps it at the top of 4 GiB and
; aliases it at 0F0000h-0FFFFFh; the CPU starts at F000:FFF0, which jumps to POST.
;
; POST: stack, A20, IVT, BIOS data area, RAM size (fw_cfg, else CMOS), 8259A PICs (vectors 08h and
; 70h), 8254 PIT channel 0 at 18.2 Hz, i8042 keyboard (translated set 1), the primary master ATA
; disk, VGA text mode 03h with its 8x16 font; a banner on COM1 and the screen; then INT 19h.
; Services: INT 08h, 09h, 10h, 11h, 12h, 13h, 15h, 16h, 18h, 19h, 1Ah (see firmware/include/*.inc).
; Written for Emu; no other BIOS's source was used.

bits 16
cpu 686
org 0

ROM_SEG  equ 0xF000
ROM_SIZE equ 0x10000
STACK_TOP equ 0x7C00

%include "bda.inc"

post:
    cli
    cld
    xor ax, ax
    mov ss, ax
    mov sp, STACK_TOP
    mov es, ax                               ; clear the IVT, the BDA and 500h-5FFh
    xor di, di
    mov cx, 0x300
    rep stosw
    mov ax, EBDA_SEG
    mov es, ax
    xor di, di
    xor ax, ax
    mov cx, EBDA_KB * 512
    rep stosw
    mov word [es:0], EBDA_KB

    push cs
    pop ds
    call serial_init
    mov si, msg_banner
    call serial_puts

    in al, 0x92                              ; A20 on (fast gate), never the reset bit
    or al, 0x02
    and al, 0xFE
    out 0x92, al

    ; IVT: every vector to an IRET, hardware IRQs to an end-of-interrupt, then the services.
    xor ax, ax
    mov es, ax
    xor di, di
    mov cx, 256
.ivt_default:
    mov word [es:di], default_handler
    mov word [es:di + 2], ROM_SEG
    add di, 4
    loop .ivt_default
    mov di, 0x08 * 4
    mov ax, irq_master_default
    mov cx, 8
.ivt_master:
    mov [es:di], ax
    add di, 4
    loop .ivt_master
    mov di, 0x70 * 4
    mov ax, irq_slave_default
    mov cx, 8
.ivt_slave:
    mov [es:di], ax
    add di, 4
    loop .ivt_slave
    mov si, vector_table
.ivt_services:
    lodsw                                    ; vector number, 0FFFFh ends the table
    cmp ax, 0xFFFF
    je .ivt_done
    mov di, ax
    shl di, 2
    lodsw
    mov [es:di], ax
    jmp .ivt_services
.ivt_done:

    ; The BIOS data area.
    mov ax, BDA_SEG
    mov ds, ax
    mov word [BDA_COM1], COM1_BASE
    mov word [BDA_EQUIPMENT], 0x0222         ; one serial port, 80x25 colour, maths coprocessor
    mov word [BDA_MEM_KB], 640 - EBDA_KB
    mov word [0x0E], EBDA_SEG                ; EBDA segment
    mov word [BDA_KBD_HEAD], BDA_KBD_BUF
    mov word [BDA_KBD_TAIL], BDA_KBD_BUF
    mov word [BDA_KBD_START], BDA_KBD_BUF
    mov word [BDA_KBD_END], BDA_KBD_BUF_END

    mov ax, EBDA_SEG
    mov es, ax
    call memory_detect
    call apic_virtual_wire
    call pic_init
    call pit_init
    call kbc_init
    call ata_detect
    mov al, [es:EBDA_DISK]
    mov [BDA_HD_COUNT], al

    mov al, 0x03
    call video_set_mode
    sti

    ; "Emu BIOS: N MiB RAM, disk: M sectors" on COM1; the banner on screen.
    push cs
    pop ds
    mov si, msg_banner
    call screen_puts
    mov si, msg_ram
    call serial_puts
    mov eax, [es:EBDA_RAM_LOW]
    shr eax, 20
    mov ebx, [es:EBDA_RAM_HIGH]
    shr ebx, 4
    add eax, ebx
    call serial_putdec
    mov si, msg_mib
    call serial_puts
    cmp byte [es:EBDA_DISK], 1
    jne .no_disk
    mov si, msg_disk
    call serial_puts
    mov eax, [es:EBDA_SECTORS]
    call serial_putdec
    mov si, msg_sectors
    call serial_puts
    jmp .boot
.no_disk:
    mov si, msg_no_disk
    call serial_puts
.boot:
    int 0x19

; Interrupt returns. Handlers that return flags start with `push bp; mov bp, sp` so the caller's
; FLAGS are at [bp + 6]; iret_cf copies CF into them.
iret_cf:
    jc .set
    and byte [bp + 6], 0xFE
    pop bp
    iret
.set:
    or byte [bp + 6], 0x01
    pop bp
    iret

iret_plain:
    pop bp
    iret

default_handler:
    iret

irq_master_default:
    push ax
    mov al, PIC_EOI
    out PIC1_CMD, al
    pop ax
    iret

irq_slave_default:
    push ax
    mov al, PIC_EOI
    out PIC2_CMD, al
    out PIC1_CMD, al
    pop ax
    iret

int11_handler:
    push ds
    push word BDA_SEG
    pop ds
    mov ax, [BDA_EQUIPMENT]
    pop ds
    iret

vector_table:
    dw 0x08, int08_handler
    dw 0x09, int09_handler
    dw 0x10, int10_handler
    dw 0x11, int11_handler
    dw 0x12, int12_handler
    dw 0x13, int13_handler
    dw 0x15, int15_handler
    dw 0x16, int16_handler
    dw 0x18, int18_handler
    dw 0x19, int19_handler
    dw 0x1A, int1a_handler
    dw 0x43, font8x16                        ; graphics font pointer
    dw 0xFFFF

msg_banner:  db "Emu BIOS", 13, 10, 0
msg_ram:     db "Emu BIOS: ", 0
msg_mib:     db " MiB RAM, ", 0
msg_disk:    db "disk: ", 0
msg_sectors: db " sectors", 13, 10, 0
msg_no_disk: db "no disk", 13, 10, 0

%include "../guests/include/serial.inc"
%include "fwcfg.inc"
%include "memory.inc"
%include "timer.inc"
%include "keyboard.inc"
%include "video.inc"
%include "disk.inc"
%include "boot.inc"

align 16
%include "font8x16.inc"

; The reset vector, the BIOS date and the model byte at the end of the ROM.
    times ROM_SIZE - 16 - ($ - $$) db 0xFF
reset_vector:
    jmp ROM_SEG:post
    db "08/01/25", 0
    db 0xFC                                  ; model: AT
    db 0
%if $ - $$ != ROM_SIZE
  %error "the ROM is not 64 KiB"
%endif
