using Emu.Machine.Devices;

namespace Emu.UnitTests.Devices;

/// <summary>An <see cref="ICharBackend"/> that keeps everything written to it.</summary>
internal sealed class CaptureBackend : ICharBackend
{
    private readonly List<byte> _bytes = [];

    public byte[] Bytes => [.. _bytes];

    public string Text => System.Text.Encoding.ASCII.GetString(Bytes);

    public void Write(ReadOnlySpan<byte> data) => _bytes.AddRange(data.ToArray());
}
