"""The two table renderers of the package: text for the terminal, Markdown for files.

Every table the package prints (the build summary, `invoke list`, the dry-run plan, the
smoke summary) is a `text_table`; every table it writes into Markdown (`invoke manifest`,
bench/results.md) is a `markdown_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

GAP = "  "
"""Between two columns of a text table."""


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, rule: bool = False
) -> list[str]:
    """Columns padded to their widest cell, two spaces apart, no trailing blanks (the last
    column is not padded); with `rule`, a line of dashes under the headers."""
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [
        GAP.join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])), row[-1]]).rstrip()
        for row in [headers, *rows]
    ]
    if rule:
        lines.insert(1, GAP.join("-" * width for width in widths))
    return lines


def markdown_cell(text: str) -> str:
    """A table cell's text: `|` escaped, line breaks as spaces."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown (GitHub) table; the cells are escaped (markdown_cell), the headers not."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]
    return lines
