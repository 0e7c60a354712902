namespace Emu.Machine.Cpu.Tlb;

/// <summary>The control registers a page walk reads: CR0 (PG, WP), CR3 (the root table) and CR4 (PSE, PAE).</summary>
internal readonly record struct PagingRegisters(uint Cr0, uint Cr3, uint Cr4);
