using Emu.Machine.Cpu.Cache;
using Iced.Intel;

namespace Emu.Machine.Cpu.Translation;

/// <summary>
/// What <see cref="BlockTranslator"/> makes of one straight run of guest code, before the CPU protects its pages
/// and the cache places it as a <see cref="DecodedBlock"/>.
/// </summary>
/// <param name="Instructions">The Iced instructions, one per guest instruction (never empty).</param>
/// <param name="Ops">Their micro-ops, exact for each instruction (single steps, runs cut short).</param>
/// <param name="WholeRunOps">The micro-ops after flag liveness, for a run of the whole block; <paramref name="Ops"/> when nothing was dead.</param>
/// <param name="CrossesPage">The last instruction runs into the next guest page.</param>
internal readonly record struct DecodedRun(Instruction[] Instructions, MicroOp[] Ops, MicroOp[] WholeRunOps, bool CrossesPage);
