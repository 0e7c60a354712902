namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// One mutant's verdict, the error line or failure detail, how long its load took and how many managed bytes the
/// process allocated meanwhile.
/// </summary>
internal sealed record MutantOutcome(MutantVerdict Verdict, string Detail, TimeSpan Elapsed, long AllocatedBytes);
