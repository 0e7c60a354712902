namespace Emu.Machine.State;

/// <summary>
/// Field constructors for a <see cref="VmStateDescription{T}"/>. Each takes a getter and a "with" setter
/// (<c>(s, v) => s with { X = v }</c>), so state records stay immutable.
/// </summary>
public static class VmField
{
    public static VmStateField<T> U8<T>(string name, Func<T, byte> get, Func<T, byte, T> set, int sinceVersion = 0) =>
        new Scalar<T, byte>(name, "uint8", 1, sinceVersion, get, set, (w, v) => w.WriteU8(v), r => r.ReadU8());

    public static VmStateField<T> Bool<T>(string name, Func<T, bool> get, Func<T, bool, T> set, int sinceVersion = 0) =>
        new Scalar<T, bool>(name, "bool", 1, sinceVersion, get, set, (w, v) => w.WriteU8(v ? (byte)1 : (byte)0), ReadBool(name));

    public static VmStateField<T> U16<T>(string name, Func<T, ushort> get, Func<T, ushort, T> set, int sinceVersion = 0) =>
        new Scalar<T, ushort>(name, "uint16", 2, sinceVersion, get, set, (w, v) => w.WriteU16(v), r => r.ReadU16());

    public static VmStateField<T> U32<T>(string name, Func<T, uint> get, Func<T, uint, T> set, int sinceVersion = 0) =>
        new Scalar<T, uint>(name, "uint32", 4, sinceVersion, get, set, (w, v) => w.WriteU32(v), r => r.ReadU32());

    public static VmStateField<T> I32<T>(string name, Func<T, int> get, Func<T, int, T> set, int sinceVersion = 0) =>
        new Scalar<T, int>(name, "int32", 4, sinceVersion, get, set, (w, v) => w.WriteU32((uint)v), r => (int)r.ReadU32());

    public static VmStateField<T> U64<T>(string name, Func<T, ulong> get, Func<T, ulong, T> set, int sinceVersion = 0) =>
        new Scalar<T, ulong>(name, "uint64", 8, sinceVersion, get, set, (w, v) => w.WriteU64(v), r => r.ReadU64());

    public static VmStateField<T> I64<T>(string name, Func<T, long> get, Func<T, long, T> set, int sinceVersion = 0) =>
        new Scalar<T, long>(name, "int64", 8, sinceVersion, get, set, (w, v) => w.WriteU64((ulong)v), r => (long)r.ReadU64());

    /// <summary>A fixed-length byte buffer (QEMU VMSTATE_BUFFER). The getter must return exactly <paramref name="length"/> bytes.</summary>
    public static VmStateField<T> Buffer<T>(string name, int length, Func<T, byte[]> get, Func<T, byte[], T> set, int sinceVersion = 0) =>
        new Scalar<T, byte[]>(name, "buffer", length, sinceVersion, get, set,
            (w, v) =>
            {
                if (v.Length != length)
                {
                    throw new InvalidOperationException($"state: field '{name}' holds {v.Length} bytes, its description says {length}");
                }

                w.WriteBytes(v);
            },
            r =>
            {
                var b = new byte[length];
                r.ReadBytes(b);
                return b;
            });

    /// <summary>A fixed-length array of u32 (QEMU VMSTATE_UINT32_ARRAY).</summary>
    public static VmStateField<T> U32Array<T>(string name, int length, Func<T, uint[]> get, Func<T, uint[], T> set, int sinceVersion = 0) =>
        new Scalar<T, uint[]>(name, "uint32", 4 * length, sinceVersion, get, set,
            (w, v) =>
            {
                CheckLength(name, v.Length, length);
                foreach (uint x in v)
                {
                    w.WriteU32(x);
                }
            },
            r =>
            {
                var a = new uint[length];
                for (int i = 0; i < a.Length; i++)
                {
                    a[i] = r.ReadU32();
                }

                return a;
            });

    /// <summary>A fixed-length array of u64 (QEMU VMSTATE_UINT64_ARRAY).</summary>
    public static VmStateField<T> U64Array<T>(string name, int length, Func<T, ulong[]> get, Func<T, ulong[], T> set, int sinceVersion = 0) =>
        new Scalar<T, ulong[]>(name, "uint64", 8 * length, sinceVersion, get, set,
            (w, v) =>
            {
                CheckLength(name, v.Length, length);
                foreach (ulong x in v)
                {
                    w.WriteU64(x);
                }
            },
            r =>
            {
                var a = new ulong[length];
                for (int i = 0; i < a.Length; i++)
                {
                    a[i] = r.ReadU64();
                }

                return a;
            });

    /// <summary>A fixed-length array of nested structures (QEMU VMSTATE_STRUCT_ARRAY), e.g. the PIT's channels.</summary>
    public static VmStateField<T> StructArray<T, TItem>(string name, int length, VmStateDescription<TItem> item, Func<T, TItem[]> get, Func<T, TItem[], T> set, int sinceVersion = 0) =>
        new Scalar<T, TItem[]>(name, "struct", -1, sinceVersion, get, set,
            (w, v) =>
            {
                CheckLength(name, v.Length, length);
                foreach (TItem x in v)
                {
                    item.WriteFields(x, w);
                }
            },
            r =>
            {
                var a = new TItem[length];
                for (int i = 0; i < a.Length; i++)
                {
                    a[i] = item.ReadFields(r, item.Version);
                }

                return a;
            });

    private static Func<IStateReader, bool> ReadBool(string name) => r =>
    {
        long at = r.Position;
        byte b = r.ReadU8();
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw new VmStateException($"state: field '{name}' at offset 0x{at:x} holds {b}, a bool must be 0 or 1"),
        };
    };

    private static void CheckLength(string name, int found, int expected)
    {
        if (found != expected)
        {
            throw new InvalidOperationException($"state: field '{name}' holds {found} elements, its description says {expected}");
        }
    }

    private sealed class Scalar<T, TValue>(
        string name, string typeName, int size, int sinceVersion,
        Func<T, TValue> get, Func<T, TValue, T> set,
        Action<IStateWriter, TValue> write, Func<IStateReader, TValue> read)
        : VmStateField<T>(name, typeName, size, sinceVersion)
    {
        public override void Write(T state, IStateWriter w) => write(w, get(state));

        public override T Read(T state, IStateReader r) => set(state, read(r));
    }
}
