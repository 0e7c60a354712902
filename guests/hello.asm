; hello: prints "Hello from Emu" on COM1 and exits through isa-debug-exit with value 0.
%include "multiboot.inc"
%include "debug_exit.inc"

_start:
    mov esp, mb_stack_top
    call serial_init
    mov esi, message
    call serial_puts
    DEBUG_EXIT 0

message: db "Hello from Emu", 13, 10, 0

%include "serial.inc"

MULTIBOOT_END 4096
