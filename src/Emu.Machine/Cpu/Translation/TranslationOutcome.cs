namespace Emu.Machine.Cpu.Translation;

/// <summary>How <see cref="BlockTranslator.Translate"/> ended.</summary>
internal enum TranslationOutcome
{
    /// <summary>At least one instruction was decoded.</summary>
    Translated,

    /// <summary>The first instruction's bytes could not be fetched; the fetch raised its fault.</summary>
    FetchFaulted,

    /// <summary>15 bytes did not make an instruction (the CPU raises #GP).</summary>
    InstructionTooLong,
}
