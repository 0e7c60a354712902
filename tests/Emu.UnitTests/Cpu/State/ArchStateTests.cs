using System.Reflection;
using Emu.Machine.Cpu;
using Emu.Machine.Cpu.State;

namespace Emu.UnitTests.Cpu.State;

/// <summary>The architectural state is one type: the fields tier 2 compiles against are its own.</summary>
public sealed class ArchStateTests
{
    [Theory]
    [InlineData("_gpr")]
    [InlineData("_eip")]
    [InlineData("_eflags")]
    [InlineData("_ccOp")]
    [InlineData("_ccRes")]
    [InlineData("_ccSrc1")]
    [InlineData("_ccSrc2")]
    [InlineData("_ccSign")]
    [InlineData("_seg")]
    [InlineData("_cr3")]
    public void RegistersFoundOnTheCpuByNameAreArchitecturalState(string field)
    {
        // Tier 2 looks registers up on X86Cpu by name (Jit/BlockCompiler.CpuField): they must be found there, and be the state's.
        FieldInfo? info = typeof(X86Cpu).GetField(field, BindingFlags.Instance | BindingFlags.NonPublic);
        Assert.NotNull(info);
        Assert.Equal(typeof(ArchState), info.DeclaringType);
    }
}
