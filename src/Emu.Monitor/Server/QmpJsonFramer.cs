using System.Buffers;

namespace Emu.Monitor.Server;

/// <summary>
/// Cuts a QMP byte stream into top-level JSON texts, as QEMU's json-streamer does: it follows brace and
/// bracket depth outside strings, so a request may span several reads or lines and one read may hold several
/// requests. Each complete text is handed on unparsed; the dispatcher parses it and reports syntax errors.
/// A raw control character inside a string ends the text at once (it can never become valid JSON), and the
/// rest of that line is skipped, so one broken request does not swallow the next line.
/// </summary>
internal sealed class QmpJsonFramer
{
    /// <summary>QEMU json-streamer MAX_TOKEN_SIZE is 64 MiB; no QMP request comes near 1 MiB.</summary>
    public const int MaxTextBytes = 1 << 20;

    /// <summary>QEMU json-streamer MAX_NESTING.</summary>
    public const int MaxNesting = 1024;

    private readonly ArrayBufferWriter<byte> _text = new(4096);
    private int _depth;
    private bool _inBareToken;
    private bool _inString;
    private bool _escape;
    private bool _skipToNewline;

    /// <summary>Called with each complete JSON text, or with a framing error text (QEMU's wording).</summary>
    public delegate void FrameSink(ReadOnlySpan<byte> text, string? framingError);

    public void Feed(ReadOnlySpan<byte> data, FrameSink sink)
    {
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            if (_skipToNewline)
            {
                _skipToNewline = b != (byte)'\n';
                continue;
            }

            if (_inString)
            {
                Append(b);
                if (_escape)
                {
                    _escape = false;
                }
                else if (b == (byte)'\\')
                {
                    _escape = true;
                }
                else if (b == (byte)'"')
                {
                    _inString = false;
                }
                else if (b < 0x20)
                {
                    // Not valid inside a JSON string: report this text now and resynchronise at the next line.
                    Emit(sink, null);
                    _skipToNewline = b != (byte)'\n';
                    continue;
                }

                CheckSize(sink);
                continue;
            }

            if (_depth == 0 && !_inBareToken)
            {
                StartValue(b, sink);
                continue;
            }

            if (_inBareToken)
            {
                if (IsWhitespace(b) || b is (byte)'{' or (byte)'[' or (byte)'}' or (byte)']')
                {
                    Emit(sink, null);
                    StartValue(b, sink);
                    continue;
                }

                Append(b);
                _inString = b == (byte)'"';
                CheckSize(sink);
                continue;
            }

            Append(b);
            switch (b)
            {
                case (byte)'"':
                    _inString = true;
                    break;
                case (byte)'{' or (byte)'[':
                    if (++_depth > MaxNesting)
                    {
                        Emit(sink, "JSON nesting depth limit exceeded");
                        _skipToNewline = true;
                        continue;
                    }

                    break;
                case (byte)'}' or (byte)']':
                    if (--_depth == 0)
                    {
                        Emit(sink, null);
                        continue;
                    }

                    break;
            }

            CheckSize(sink);
        }
    }

    /// <summary>At top level between values: whitespace is skipped, anything else starts a value.</summary>
    private void StartValue(byte b, FrameSink sink)
    {
        if (IsWhitespace(b))
        {
            return;
        }

        Append(b);
        switch (b)
        {
            case (byte)'{' or (byte)'[':
                _depth = 1;
                break;
            case (byte)'}' or (byte)']':
                // A closer with nothing open: a text of its own, which the parser refuses.
                Emit(sink, null);
                break;
            default:
                _inBareToken = true;
                _inString = b == (byte)'"';
                break;
        }
    }

    private void CheckSize(FrameSink sink)
    {
        if (_text.WrittenCount > MaxTextBytes)
        {
            Emit(sink, "JSON token size limit exceeded");
            _skipToNewline = true;
        }
    }

    private void Append(byte b)
    {
        _text.GetSpan(1)[0] = b;
        _text.Advance(1);
    }

    private void Emit(FrameSink sink, string? framingError)
    {
        sink(_text.WrittenSpan, framingError);
        _text.ResetWrittenCount();
        _depth = 0;
        _inBareToken = false;
        _inString = false;
        _escape = false;
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
}
