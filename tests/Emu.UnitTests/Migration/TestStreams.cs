using Emu.Machine.State;
using Emu.Migration;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.UnitTests.Migration;

/// <summary>Builds savevm streams in memory from a fake machine, the way the migration thread writes them.</summary>
internal static class TestStreams
{
    /// <summary>
    /// Header, RAM START (setup), RAM END (complete), globalstate and device FULL sections (but those
    /// <paramref name="include"/> turns down), EOF, vmdesc.
    /// </summary>
    public static byte[] SaveFull(FakeMachine m, MigrationStats? stats = null, Func<IVmStateDevice, bool>? include = null)
    {
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        var ram = new RamSaver(m.RamBlocks, stats ?? new MigrationStats(), null);
        SaveVmWriter.WriteHeader(s);
        SaveVmWriter.WriteSectionHeader(s, SectionType.SectionStart, 0, "ram", 0, 4);
        ram.Setup(s);
        SaveVmWriter.WriteFooter(s, 0);
        SaveVmWriter.WriteSectionShortHeader(s, SectionType.SectionEnd, 0);
        ram.Complete(s);
        SaveVmWriter.WriteFooter(s, 0);
        ram.Cleanup();
        var global = new GlobalState();
        global.Store(Emu.Machine.Board.RunState.Running);
        var sections = new List<IVmStateDevice> { global };
        sections.AddRange(m.Devices);
        sections.RemoveAll(d => include?.Invoke(d) == false);
        uint id = 1;
        foreach (IVmStateDevice d in sections)
        {
            SaveVmWriter.WriteSectionHeader(s, SectionType.SectionFull, id, d.SectionName, (uint)d.InstanceId, (uint)d.Description.Version);
            d.SaveState(s);
            SaveVmWriter.WriteFooter(s, id);
            id++;
        }

        SaveVmWriter.WriteEof(s);
        SaveVmWriter.WriteVmDescription(s, VmDescription.Build(sections));
        s.Flush();
        return ms.ToArray();
    }

    /// <summary>Loads a stream into a machine as the destination does (without starting it).</summary>
    public static void Load(FakeMachine m, byte[] bytes)
    {
        var s = MigrationStream.ForReading(new MemoryStream(bytes));
        var devices = new List<IVmStateDevice>(m.Devices) { new GlobalState(), new DowntimeStamp() };
        new VmStateLoader(devices, [new RamLoader(m.RamBlocks)]).Load(s);
    }

    /// <summary>Header + RAM START section whose setup chunk is followed by <paramref name="records"/> (written by the caller).</summary>
    public static byte[] RamSection(FakeMachine m, Action<MigrationStream> records)
    {
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        SaveVmWriter.WriteHeader(s);
        SaveVmWriter.WriteSectionHeader(s, SectionType.SectionStart, 0, "ram", 0, 4);
        s.WriteU64((ulong)m.RamBlocks.Sum(b => (long)b.SizeBytes) | (ulong)RamSaveFlags.MemSize);
        foreach (var b in m.RamBlocks)
        {
            SaveVmWriter.WriteIdStr(s, b.IdStr);
            s.WriteU64(b.SizeBytes);
        }

        records(s);
        s.WriteU64((ulong)RamSaveFlags.Eos);
        SaveVmWriter.WriteFooter(s, 0);
        SaveVmWriter.WriteEof(s);
        s.Flush();
        return ms.ToArray();
    }
}
