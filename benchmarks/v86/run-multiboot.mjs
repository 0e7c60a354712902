// Runs a multiboot ELF kernel under v86 with no BIOS (v86 enters multiboot kernels itself) and copies COM1's
// output bytes to stdout, so the macro benchmark times v86 exactly as it times Emu and QEMU: between two bytes
// the guest prints. Usage: node run-multiboot.mjs KERNEL.elf [MEMORY_MiB]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { V86 } from "v86";

const [kernelPath, memoryMiB = "64"] = process.argv.slice(2);
if (!kernelPath) {
    process.stderr.write("usage: node run-multiboot.mjs KERNEL.elf [MEMORY_MiB]\n");
    process.exit(2);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const kernel = fs.readFileSync(kernelPath);
const emulator = new V86({
    wasm_path: path.join(here, "node_modules", "v86", "build", "v86.wasm"),
    memory_size: Number(memoryMiB) * 1024 * 1024,
    multiboot: { buffer: kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.byteLength) },
    autostart: true,
    disable_speaker: true,
    disable_keyboard: true,
    disable_mouse: true,
});

emulator.add_listener("serial0-output-byte", (byte) => {
    process.stdout.write(Buffer.from([byte]));
});
