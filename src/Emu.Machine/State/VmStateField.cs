namespace Emu.Machine.State;

/// <summary>
/// One field of a <see cref="VmStateDescription{T}"/>: how to write it from the state record and how to read
/// it into a copy of the record. <c>SinceVersion</c> marks a field added in that version (QEMU VMSTATE_*_V).
/// </summary>
public abstract class VmStateField<T>
{
    protected VmStateField(string name, string typeName, int size, int sinceVersion)
    {
        Name = name;
        TypeName = typeName;
        Size = size;
        SinceVersion = sinceVersion;
    }

    public string Name { get; }

    /// <summary>QEMU's vmdesc type name ("uint32", "buffer", …).</summary>
    public string TypeName { get; }

    /// <summary>Bytes on the wire.</summary>
    public int Size { get; }

    public int SinceVersion { get; }

    public abstract void Write(T state, IStateWriter w);

    public abstract T Read(T state, IStateReader r);
}
