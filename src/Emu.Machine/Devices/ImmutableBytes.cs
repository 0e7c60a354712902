using Emu.Machine.State;

namespace Emu.Machine.Devices;

/// <summary>
/// A byte buffer with value semantics, for device state records: records holding a <c>byte[]</c> would compare
/// by reference and could be mutated after <c>Save</c>; this type copies on the way in and out and compares
/// contents, so "save → load → equal record" means equal bytes.
/// </summary>
public sealed class ImmutableBytes : IEquatable<ImmutableBytes>
{
    private readonly byte[] _bytes;

    public ImmutableBytes(ReadOnlySpan<byte> bytes) => _bytes = bytes.ToArray();

    private ImmutableBytes(byte[] owned) => _bytes = owned;

    public static ImmutableBytes Zero(int length) => new(new byte[length]);

    public int Length => _bytes.Length;

    public ReadOnlySpan<byte> Span => _bytes;

    public byte this[int index] => _bytes[index];

    public byte[] ToArray() => (byte[])_bytes.Clone();

    /// <summary>A fixed-length buffer field (QEMU VMSTATE_BUFFER) over an <see cref="ImmutableBytes"/> property.</summary>
    public static VmStateField<T> Field<T>(string name, int length, Func<T, ImmutableBytes> get, Func<T, ImmutableBytes, T> set, int sinceVersion = 0) =>
        VmField.Buffer<T>(name, length, s => get(s).ToArray(), (s, v) => set(s, new ImmutableBytes(v)), sinceVersion);

    public bool Equals(ImmutableBytes? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => Equals(obj as ImmutableBytes);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.AddBytes(_bytes);
        return h.ToHashCode();
    }

    public override string ToString() => Convert.ToHexString(_bytes);
}
