using Emu.Machine.Devices;
using Serilog;

namespace Emu.Chardev;

/// <summary>
/// A chardev whose bytes go to a stream on a writer thread of their own, so the vCPU that sends them never waits
/// on the host. A file write can block for seconds while the kernel throttles page-cache writeback; on the vCPU
/// thread that stalled the guest, and a migration that had to keep chasing it converged. Bytes reach the stream in
/// order and are flushed as soon as the writer has them; a guest that outruns the stream by a whole queue waits for
/// room, as it would behind a slow line.
/// </summary>
public sealed class StreamBackend : ICharBackend, IDisposable
{
    /// <summary>Bytes that may wait for the stream before a writer blocks: minutes of a chatty serial console.</summary>
    public const int QueueBytes = 64 * 1024;

    /// <summary>How long <see cref="Dispose"/> waits for queued bytes to reach a stream that has stopped taking them.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly string _name;
    private readonly object _lock = new();
    private readonly byte[] _queue = new byte[QueueBytes];
    private readonly Thread _writer;
    private int _head;
    private int _count;
    private bool _closing;

    public StreamBackend(Stream stream, bool ownsStream, string name)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _name = name;
        _writer = new Thread(WriteOut) { Name = $"chardev/{name}", IsBackground = true };
        _writer.Start();
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            while (!data.IsEmpty)
            {
                while (_count == QueueBytes && !_closing)
                {
                    System.Threading.Monitor.Wait(_lock);
                }

                if (_closing)
                {
                    return;
                }

                int tail = (_head + _count) % QueueBytes;
                int n = Math.Min(data.Length, Math.Min(QueueBytes - _count, QueueBytes - tail));
                data[..n].CopyTo(_queue.AsSpan(tail));
                _count += n;
                data = data[n..];
                System.Threading.Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>Writes out what is queued, then closes the stream if it is ours.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _closing = true;
            System.Threading.Monitor.PulseAll(_lock);
        }

        if (!_writer.Join(DrainTimeout))
        {
            Log.Warning("chardev {Name}: output still blocked after {Timeout}; the rest is dropped", _name, DrainTimeout);
            return;
        }

        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    private void WriteOut()
    {
        byte[] chunk = new byte[QueueBytes];
        bool failed = false;
        while (true)
        {
            int n;
            lock (_lock)
            {
                while (_count == 0 && !_closing)
                {
                    System.Threading.Monitor.Wait(_lock);
                }

                if (_count == 0)
                {
                    return;
                }

                n = Math.Min(_count, QueueBytes - _head);
                _queue.AsSpan(_head, n).CopyTo(chunk);
                _head = (_head + n) % QueueBytes;
                _count -= n;
                System.Threading.Monitor.PulseAll(_lock);
            }

            if (failed)
            {
                continue;
            }

            try
            {
                _stream.Write(chunk, 0, n);
                _stream.Flush();
            }
            catch (IOException e)
            {
                // As QEMU's chardevs: a backend that cannot be written loses its output, never the guest.
                Log.Warning(e, "chardev {Name}: write failed; further output is dropped", _name);
                failed = true;
            }
        }
    }
}
