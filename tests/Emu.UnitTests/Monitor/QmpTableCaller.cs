using System.Text.Json.Nodes;
using Emu.Monitor;

namespace Emu.UnitTests.Monitor;

/// <summary>Calls a <see cref="QmpCommandTable"/>'s commands as the dispatcher does, for tests of their arguments and answers.</summary>
internal sealed class QmpTableCaller(QmpCommandTable table)
{
    /// <summary>Runs <paramref name="name"/> with <paramref name="args"/> (JSON text); returns its "return" value.</summary>
    public JsonNode? Call(string name, string args = "{}")
    {
        Assert.True(table.TryGet(name, out QmpHandler h), name);
        return h(JsonNode.Parse(args)!.AsObject());
    }

    /// <summary>Runs a command that must be refused with a GenericError; returns its desc.</summary>
    public string Error(string name, string args = "{}")
    {
        var e = Assert.Throws<QmpException>(() => Call(name, args));
        Assert.Equal("GenericError", e.ErrorClass);
        return e.Message;
    }
}
