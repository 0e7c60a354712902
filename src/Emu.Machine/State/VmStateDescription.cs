using System.Text.Json.Nodes;

namespace Emu.Machine.State;

/// <summary>The version-independent face of a <see cref="VmStateDescription{T}"/>, for section headers and vmdesc.</summary>
public interface IVmStateDescription
{
    string Name { get; }

    int Version { get; }

    int MinimumVersion { get; }

    /// <summary>QEMU's vmdesc JSON for this description: name, version, fields, subsections.</summary>
    JsonObject Describe();
}

/// <summary>
/// One declaration of a device's state (QEMU VMStateDescription): it alone drives save, load and the JSON
/// vmdesc. Fields are read into a copy of <c>empty</c>, then checked by <c>validate</c>, so a bad stream never
/// reaches the device.
/// </summary>
/// <remarks>
/// Wire form: the fields in order, big-endian; then for each needed subsection, byte 0x05
/// (QEMU_VM_SUBSECTION), u8 name length, name, be32 version, its fields.
/// </remarks>
public sealed class VmStateDescription<T> : IVmStateDescription
{
    public const byte SubsectionMarker = 0x05;

    private readonly Func<T> _empty;
    private readonly Func<T, string?>? _validate;

    public VmStateDescription(
        string name,
        int version,
        int minimumVersion,
        Func<T> empty,
        IReadOnlyList<VmStateField<T>> fields,
        IReadOnlyList<VmStateSubsection<T>>? subsections = null,
        Func<T, string?>? validate = null)
    {
        if (minimumVersion > version || minimumVersion < 1)
        {
            throw new ArgumentException($"state: '{name}' has minimum version {minimumVersion} above version {version} or below 1");
        }

        Name = name;
        Version = version;
        MinimumVersion = minimumVersion;
        _empty = empty;
        Fields = fields;
        Subsections = subsections ?? [];
        _validate = validate;
    }

    public string Name { get; }

    public int Version { get; }

    public int MinimumVersion { get; }

    public IReadOnlyList<VmStateField<T>> Fields { get; }

    public IReadOnlyList<VmStateSubsection<T>> Subsections { get; }

    public void Save(T state, IStateWriter w)
    {
        WriteFields(state, w);
        foreach (VmStateSubsection<T> sub in Subsections)
        {
            if (!sub.Needed(state))
            {
                continue;
            }

            w.WriteU8(SubsectionMarker);
            WriteName(w, sub.Description.Name);
            w.WriteU32((uint)sub.Description.Version);
            sub.Description.Save(state, w);
        }
    }

    /// <summary>Reads and validates a state written by version <paramref name="versionId"/>; never touches a device.</summary>
    public T Load(IStateReader r, int versionId)
    {
        T state = ReadFields(r, versionId);
        return LoadSubsections(r, state);
    }

    internal void WriteFields(T state, IStateWriter w)
    {
        foreach (VmStateField<T> f in Fields)
        {
            f.Write(state, w);
        }
    }

    internal T ReadFields(IStateReader r, int versionId)
    {
        if (versionId > Version || versionId < MinimumVersion)
        {
            throw new VmStateException($"state: '{Name}' version {versionId} is not supported (this build loads {MinimumVersion} to {Version})");
        }

        T state = _empty();
        foreach (VmStateField<T> f in Fields)
        {
            if (f.SinceVersion > versionId)
            {
                continue;
            }

            try
            {
                state = f.Read(state, r);
            }
            catch (VmStateException e)
            {
                throw new VmStateException($"state: '{Name}' field '{f.Name}': {e.Message}", e);
            }
        }

        return state;
    }

    private T LoadSubsections(IStateReader r, T state)
    {
        while (r.PeekU8() == SubsectionMarker)
        {
            long at = r.Position;
            r.ReadU8();
            string name = ReadName(r);
            int version = (int)r.ReadU32();
            VmStateSubsection<T> sub = Subsections.FirstOrDefault(s => s.Description.Name == name)
                ?? throw new VmStateException($"state: '{Name}' has no subsection '{name}' (at offset 0x{at:x})");

            // A subsection reads into the state so far: its fields are "with" setters over the same record.
            T partial = sub.Description.Load(r, version);
            state = sub.Merge(state, partial);
        }

        string? problem = _validate?.Invoke(state);
        if (problem != null)
        {
            throw new VmStateException($"state: '{Name}': {problem}");
        }

        return state;
    }

    public JsonObject Describe()
    {
        var fields = new JsonArray();
        foreach (VmStateField<T> f in Fields)
        {
            var o = new JsonObject { ["name"] = f.Name, ["type"] = f.TypeName };
            if (f.Size >= 0)
            {
                o["size"] = f.Size;
            }

            fields.Add(o);
        }

        var d = new JsonObject { ["vmsd_name"] = Name, ["version"] = Version, ["fields"] = fields };
        if (Subsections.Count > 0)
        {
            var subs = new JsonArray();
            foreach (VmStateSubsection<T> s in Subsections)
            {
                subs.Add(s.Description.Describe());
            }

            d["subsections"] = subs;
        }

        return d;
    }

    internal static void WriteName(IStateWriter w, string name)
    {
        byte[] b = System.Text.Encoding.ASCII.GetBytes(name);
        w.WriteU8(checked((byte)b.Length));
        w.WriteBytes(b);
    }

    internal static string ReadName(IStateReader r)
    {
        int len = r.ReadU8();
        Span<byte> b = stackalloc byte[len];
        r.ReadBytes(b);
        return System.Text.Encoding.ASCII.GetString(b);
    }
}

/// <summary>
/// An optional part of a device's state (QEMU subsection): sent only when <see cref="Needed"/> says so; a
/// destination that does not know its name refuses it. <see cref="Merge"/> folds the loaded part into the state.
/// </summary>
public sealed record VmStateSubsection<T>(VmStateDescription<T> Description, Func<T, bool> Needed, Func<T, T, T> Merge);
