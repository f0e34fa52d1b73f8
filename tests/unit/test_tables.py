"""kfimages.tables: the one text-table and the one Markdown-table renderer of the package."""

from __future__ import annotations

from kfimages.tables import markdown_table, text_table


def test_text_table_pads_all_but_the_last_column() -> None:
    assert text_table(("A", "BB", "C"), [("xxx", "y", "last  "), ("z", "yyy", "")]) == [
        "A    BB   C",
        "xxx  y    last",
        "z    yyy",
    ]


def test_text_table_rule_spans_every_column() -> None:
    """`invoke list` and `invoke affected`: a line of dashes under the headers."""
    assert text_table(("NAME", "REF"), [("base", "kfnb/base:latest")], rule=True) == [
        "NAME  REF",
        "----  ----------------",
        "base  kfnb/base:latest",
    ]


def test_text_table_without_rows_is_the_header() -> None:
    assert text_table(("IMAGE", "SMOKE"), []) == ["IMAGE  SMOKE"]


def test_markdown_table_escapes_pipes_and_line_breaks() -> None:
    assert markdown_table(("a", "b"), [("x|y", "line\nbreak")]) == [
        "| a | b |",
        "|---|---|",
        "| x\\|y | line break |",
    ]
