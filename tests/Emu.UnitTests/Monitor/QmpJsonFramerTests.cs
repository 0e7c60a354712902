using System.Text;
using Emu.Monitor.Server;

namespace Emu.UnitTests.Monitor;

public sealed class QmpJsonFramerTests
{
    private readonly QmpJsonFramer _framer = new();
    private readonly List<string> _frames = [];

    private void Feed(string text) =>
        _framer.Feed(Encoding.UTF8.GetBytes(text), (frame, error) => _frames.Add(error ?? Encoding.UTF8.GetString(frame)));

    [Fact]
    public void Splits_by_depth_outside_strings()
    {
        Feed("""{"a": "}"} [1, [2]] {"b": "\"{"}""");

        Assert.Equal(["""{"a": "}"}""", "[1, [2]]", """{"b": "\"{"}"""], _frames);
    }

    [Fact]
    public void Joins_a_text_fed_byte_by_byte()
    {
        foreach (char c in """{"execute": "x\u00e9", "id": [1]}""")
        {
            Feed(c.ToString());
        }

        Assert.Equal(["""{"execute": "x\u00e9", "id": [1]}"""], _frames);
    }

    [Fact]
    public void Bare_tokens_and_stray_closers_are_texts_of_their_own()
    {
        Feed("foo 12{} ]\"s t\"\n");

        Assert.Equal(["foo", "12", "{}", "]", "\"s t\""], _frames);
    }

    [Fact]
    public void A_control_character_in_a_string_ends_the_text_and_skips_the_line()
    {
        Feed("{\"a\": \"x\ty\"} junk\n{}");

        Assert.Equal(["{\"a\": \"x\t", "{}"], _frames);
    }

    [Fact]
    public void Too_deep_nesting_is_refused_with_QEMUs_message()
    {
        Feed(new string('[', QmpJsonFramer.MaxNesting + 1) + "\n{}");

        Assert.Equal(["JSON nesting depth limit exceeded", "{}"], _frames);
    }
}
