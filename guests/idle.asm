; idle: the idle guest for migration benchmarks. Prints "I" on COM1, then halts forever with interrupts
; off, so it dirties no page after boot: migrating it measures the fixed cost of a migration (setup, one
; pass over zero pages, device state, switchover) rather than the dirty rate.
%include "multiboot.inc"

_start:
    cli
    mov esp, mb_stack_top
    call serial_init
    mov al, 'I'
    call serial_putc
.halt:
    hlt
    jmp .halt                              ; only an NMI or SMI could wake us; halt again

%include "serial.inc"

MULTIBOOT_END 4096
