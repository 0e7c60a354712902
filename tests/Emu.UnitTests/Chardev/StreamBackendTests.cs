using Emu.Chardev;

namespace Emu.UnitTests.Chardev;

public sealed class StreamBackendTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void BytesReachTheStreamInOrderAndDisposeWritesOutTheRest()
    {
        var sink = new MemoryStream();
        var expected = new List<byte>();
        using (var backend = new StreamBackend(sink, ownsStream: false, "test"))
        {
            // More than the queue holds, in pieces that wrap around its end.
            for (int i = 0; i < 3 * StreamBackend.QueueBytes / 1000; i++)
            {
                byte[] piece = Enumerable.Range(i, 1000).Select(b => (byte)b).ToArray();
                backend.Write(piece);
                expected.AddRange(piece);
            }
        }

        Assert.Equal(expected, sink.ToArray());
    }

    [Fact]
    public void AWriterDoesNotWaitForAStreamThatIsBlocked()
    {
        using var stream = new GatedStream();
        using StreamBackend backend = StuckInFirstWrite(stream);

        // The guest's bytes queue while the stream cannot take them.
        Thread writes = Started(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                backend.Write("B"u8);
            }
        });
        Assert.True(writes.Join(Patience), "Write waited for a blocked stream");

        stream.Open.Set();
        backend.Dispose();
        Assert.Equal("A" + new string('B', 1000), System.Text.Encoding.ASCII.GetString(stream.Written.ToArray()));
    }

    [Fact]
    public void AFullQueueMakesTheWriterWaitForRoomAndLosesNothing()
    {
        using var stream = new GatedStream();
        using StreamBackend backend = StuckInFirstWrite(stream);

        byte[] more = new byte[StreamBackend.QueueBytes + 1];
        Array.Fill(more, (byte)'C');
        Thread writes = Started(() => backend.Write(more));
        Assert.False(writes.Join(TimeSpan.FromMilliseconds(200)), "a queue-and-a-byte went into a full queue");

        stream.Open.Set();
        Assert.True(writes.Join(Patience), "room made by the stream did not release the writer");
        backend.Dispose();
        Assert.Equal(1 + more.Length, stream.Written.Length);
    }

    [Fact]
    public void AStreamThatFailsLosesTheOutputNotTheWriter()
    {
        using var backend = new StreamBackend(new FailingStream(), ownsStream: true, "test");
        backend.Write("lost"u8);
        backend.Write("also lost"u8);
    }

    /// <summary>A backend whose writer thread is stuck writing "A" to <paramref name="stream"/>, as a file under writeback throttling.</summary>
    private static StreamBackend StuckInFirstWrite(GatedStream stream)
    {
        var backend = new StreamBackend(stream, ownsStream: false, "test");
        backend.Write("A"u8);
        Assert.True(stream.Entered.Wait(Patience), "the writer thread never wrote");
        return backend;
    }

    private static Thread Started(Action action)
    {
        var thread = new Thread(() => action()) { IsBackground = true };
        thread.Start();
        return thread;
    }

    /// <summary>A stream whose writes block until <see cref="Open"/> is set; <see cref="Entered"/> says one has begun.</summary>
    private sealed class GatedStream : Stream
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Open { get; } = new();

        public MemoryStream Written { get; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written.Length;

        public override long Position { get => Written.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Entered.Set();
            Open.Wait();
            Written.Write(buffer, offset, count);
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class FailingStream : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => 0;

        public override long Position { get => 0; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("disk gone");

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
