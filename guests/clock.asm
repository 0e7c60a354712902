; image
; clock: the demo guest, a bootable disk image. Draws a live VGA text screen (written straight to
; B800:0000): a running counter of timer ticks, a spinner, a bar that sweeps across, the RTC time,
; and a key field that changes with every key press (INT 16h). Paced by the BIOS tick count
; (INT 1Ah, 18.2 Hz) with HLT between updates, so it idles when there is nothing to do.
; COM1: "clock: running" at start, "tick N" every 18 ticks (about a second; N = ticks counted),
; and "key K C" per key press (K = keys so far, C = the ASCII code in decimal). Never exits.
%include "bootsect.inc"

SCREEN_SEG  equ 0xB800
COLS        equ 80
ATTR_TITLE  equ 0x1F                         ; white on blue
ATTR_LABEL  equ 0x07
ATTR_VALUE  equ 0x0E                         ; yellow
ATTR_BAR    equ 0x0A
TICKS_PER_REPORT equ 18

%define CELL(row, col) ((row) * COLS + (col)) * 2

program:
    mov si, msg_running
    call serial_puts
    mov ax, 0x0003                           ; 80x25 text, cleared
    int 0x10
    mov ah, 0x01                             ; no cursor
    mov cx, 0x2000
    int 0x10
    mov ax, SCREEN_SEG
    mov es, ax

    mov di, CELL(0, 0)                       ; title bar
    mov ax, ATTR_TITLE << 8 | ' '
    mov cx, COLS
    rep stosw
    mov di, CELL(0, 2)
    mov si, str_title
    mov ah, ATTR_TITLE
    call put_str
    mov ah, ATTR_LABEL
    mov di, CELL(3, 4)
    mov si, str_counter
    call put_str
    mov di, CELL(5, 4)
    mov si, str_spinner
    call put_str
    mov di, CELL(7, 4)
    mov si, str_time
    call put_str
    mov di, CELL(9, 4)
    mov si, str_keys
    call put_str
    mov di, CELL(9, 30)
    mov si, str_last
    call put_str
    mov di, CELL(23, 4)
    mov si, str_help
    call put_str

    xor ah, ah
    int 0x1A
    mov [last_tick], dx
    call draw_keys

.loop:
    sti
    hlt                                      ; until the next tick or key
    mov ah, 0x01
    int 0x16
    jz .no_key
    xor ah, ah
    int 0x16
    inc dword [key_count]
    mov [last_key], al
    call draw_keys
    mov si, msg_key
    call serial_puts
    mov eax, [key_count]
    call serial_putdec
    mov al, ' '
    call serial_putc
    movzx eax, byte [last_key]
    call serial_putdec
    mov si, msg_newline
    call serial_puts
.no_key:
    xor ah, ah
    int 0x1A
    mov ax, dx
    sub ax, [last_tick]                      ; ticks since the last update (wraps at midnight fine)
    jz .loop
    mov [last_tick], dx
    movzx eax, ax
    add [counter], eax
    call draw_ticking
    mov eax, [counter]
    cmp eax, [next_report]
    jb .loop
    add dword [next_report], TICKS_PER_REPORT
    mov si, msg_tick
    call serial_puts
    call serial_putdec
    mov si, msg_newline
    call serial_puts
    jmp .loop

; The counter, spinner, sweeping bar and time.
draw_ticking:
    mov eax, [counter]
    mov di, CELL(3, 14)
    mov ah, ATTR_VALUE
    mov eax, [counter]
    mov bl, ATTR_VALUE
    call put_dec
    mov eax, [counter]
    and eax, 3
    mov al, [spinner + eax]
    mov ah, ATTR_VALUE
    mov [es:CELL(5, 14)], ax
    mov di, CELL(12, 4)                      ; the bar: a block sweeping over 72 columns
    mov ax, ATTR_BAR << 8 | 0xFA
    mov cx, 72
    rep stosw
    mov eax, [counter]
    xor edx, edx
    mov ecx, 72
    div ecx
    shl dx, 1
    mov di, dx
    mov word [es:CELL(12, 4) + di], ATTR_BAR << 8 | 0xDB
    mov ah, 0x02                             ; RTC time, BCD
    int 0x1A
    jc .no_time
    mov di, CELL(7, 14)
    mov al, ch
    call put_bcd
    mov word [es:di], ATTR_VALUE << 8 | ':'
    add di, 2
    mov al, cl
    call put_bcd
    mov word [es:di], ATTR_VALUE << 8 | ':'
    add di, 2
    mov al, dh
    call put_bcd
.no_time:
    ret

; The key field: count and last key, in a colour that changes with every press.
draw_keys:
    mov eax, [key_count]
    and al, 7
    inc al
    shl al, 4
    or al, 0x0F                              ; white on colour 1-8
    mov bl, al
    mov eax, [key_count]
    mov di, CELL(9, 14)
    call put_dec
    mov ah, bl
    mov al, [last_key]
    cmp al, ' '
    jae .printable
    mov al, ' '
.printable:
    mov di, CELL(9, 41)
    mov [es:di], ax
    ret

; DS:SI = NUL-terminated string, AH = attribute, ES:DI = cell.
put_str:
    lodsb
    test al, al
    jz .done
    stosw
    jmp put_str
.done:
    ret

; EAX = value, BL = attribute, ES:DI = cell: 10 digits, right-aligned.
put_dec:
    push eax
    push ecx
    push edx
    add di, 18
    mov ecx, 10
.digit:
    xor edx, edx
    push ecx
    mov ecx, 10
    div ecx
    pop ecx
    add dl, '0'
    mov dh, bl
    mov [es:di], dx
    sub di, 2
    test eax, eax
    jnz .more
    mov dx, ' '                              ; blanks to the left
    mov dh, bl
.pad:
    dec ecx
    jz .done
    mov [es:di], dx
    sub di, 2
    jmp .pad
.more:
    loop .digit
.done:
    pop edx
    pop ecx
    pop eax
    ret

; AL = BCD byte → two digits at ES:DI (DI advances).
put_bcd:
    push ax
    shr al, 4
    add al, '0'
    mov ah, ATTR_VALUE
    stosw
    pop ax
    and al, 0x0F
    add al, '0'
    mov ah, ATTR_VALUE
    stosw
    ret

str_title:   db "Emu clock - a live guest: it keeps counting wherever it runs", 0
str_counter: db "counter", 0
str_spinner: db "spinner", 0
str_time:    db "time", 0
str_keys:    db "keys", 0
str_last:    db "last key", 0
str_help:    db "Press any key: the key field changes with every press.", 0
msg_running: db "clock: running", 13, 10, 0
msg_tick:    db "tick ", 0
msg_key:     db "key ", 0
msg_newline: db 13, 10, 0
spinner:     db "|/-\"

align 4
counter:     dd 0
next_report: dd TICKS_PER_REPORT
key_count:   dd 0
last_tick:   dw 0
last_key:    db 0

IMAGE_END
