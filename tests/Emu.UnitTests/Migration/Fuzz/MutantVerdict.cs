namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>What became of one mutant: the two acceptable endings, and everything else.</summary>
internal enum MutantVerdict
{
    /// <summary>The destination failed the migration with one clean error line; the guest never ran.</summary>
    Refused,

    /// <summary>The destination completed the load and the loaded guest ran without a host error.</summary>
    Loaded,

    /// <summary>An internal error, a hang, a messy error line, an outcome that is neither, or unbounded allocation.</summary>
    Failure,
}
