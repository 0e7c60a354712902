using System.Text;

namespace Emu.Benchmarks.Macro;

/// <summary>A GitHub-flavoured markdown table with padded columns, so it reads in a terminal and pastes into README.md.</summary>
internal sealed class MarkdownTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"bench: table row has {cells.Length} cells, expected {headers.Length}", nameof(cells));
        }

        _rows.Add(cells);
    }

    public override string ToString()
    {
        var widths = new int[headers.Length];
        for (int c = 0; c < headers.Length; c++)
        {
            widths[c] = Math.Max(3, headers[c].Length);
            foreach (string[] row in _rows)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        var sb = new StringBuilder();
        AppendRow(sb, headers, widths);
        sb.Append('|');
        foreach (int w in widths)
        {
            sb.Append(' ').Append('-', w).Append(" |");
        }

        sb.AppendLine();
        foreach (string[] row in _rows)
        {
            AppendRow(sb, row, widths);
        }

        return sb.ToString();
    }

    private static void AppendRow(StringBuilder sb, string[] cells, int[] widths)
    {
        sb.Append('|');
        for (int c = 0; c < cells.Length; c++)
        {
            sb.Append(' ').Append(cells[c].PadRight(widths[c])).Append(" |");
        }

        sb.AppendLine();
    }
}
