using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Emu.Machine.Memory;

namespace Emu.Migration.Ram;

/// <summary>
/// Copies an arriving page into guest memory with non-temporal (streaming) stores. A destination writes every
/// page once per pass and nobody reads it before the guest runs, so an ordinary copy pays for reading each cache
/// line of guest memory before overwriting it (read-for-ownership) and evicts the stream buffer it reads from;
/// streaming stores do neither, which roughly halves the cost of the copy that dominates the loading thread.
/// </summary>
/// <remarks>
/// Streaming stores are weakly ordered: <see cref="Fence"/> must run before the page is published to another
/// thread (postcopy's received bit) or the guest is started. Allocation-free.
/// </remarks>
public static class PageCopy
{
    /// <summary>Copies one 4 KiB page from <paramref name="source"/> to the page-aligned <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Streaming(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length != RamBlock.PageSize || destination.Length != RamBlock.PageSize)
        {
            throw new ArgumentException($"page copy: {source.Length} bytes into {destination.Length}, expected {RamBlock.PageSize} each");
        }

        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            // 16-byte streaming stores: every x86-64 has them, and they saturate memory as well as 32-byte ones.
            if (Sse2.IsSupported && ((nuint)dst & 15) == 0)
            {
                for (int i = 0; i < RamBlock.PageSize; i += 64)
                {
                    Vector128<byte> a = Sse2.LoadVector128(src + i);
                    Vector128<byte> b = Sse2.LoadVector128(src + i + 16);
                    Vector128<byte> c = Sse2.LoadVector128(src + i + 32);
                    Vector128<byte> d = Sse2.LoadVector128(src + i + 48);
                    Sse2.StoreAlignedNonTemporal(dst + i, a);
                    Sse2.StoreAlignedNonTemporal(dst + i + 16, b);
                    Sse2.StoreAlignedNonTemporal(dst + i + 32, c);
                    Sse2.StoreAlignedNonTemporal(dst + i + 48, d);
                }

                return;
            }
        }

        source.CopyTo(destination);
    }

    /// <summary>Orders earlier streaming stores before any later store (SFENCE); a no-op without SSE.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Fence()
    {
        if (Sse.IsSupported)
        {
            Sse.StoreFence();
        }
    }
}
