"""How every table here is laid out: markdown for the files that go into docs and results, and
aligned text for the terminal. Cells are text already (stats.percent and each table's own
formatters make them); only the layout lives here, so the tables of evaluation/, checkout/,
studies/ and the tools line up the same way.

A low-level module (nothing of hl_detect), imported downward by every layer that prints a table.
"""
from __future__ import annotations

from typing import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``| a | b |`` lines under a ``|---|---|`` separator (no padding: the renderer aligns)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def aligned_lines(header: Sequence, rows: Sequence[Sequence], text_columns: int = 1) -> list[str]:
    """[header line, row lines...]: each column as wide as its widest cell, two spaces between
    columns; the first ``text_columns`` (names) left-aligned, the rest (numbers) right-aligned so
    their decimal points line up. Cells may be numbers; they print as ``str`` does."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        return "  ".join(str(x).ljust(w) if i < text_columns else str(x).rjust(w)
                         for i, (x, w) in enumerate(zip(row, widths)))

    return [line(header)] + [line(row) for row in rows]


def rule(line: str) -> str:
    """A line of dashes as long as ``line`` (under a header, or above a total row)."""
    return "-" * len(line)


def text_table(header: Sequence, rows: Sequence[Sequence], text_columns: int = 1) -> str:
    """The header, a rule under it, the rows: aligned as ``aligned_lines`` does."""
    head, *body = aligned_lines(header, rows, text_columns)
    return "\n".join([head, rule(head), *body])


def table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    """``markdown_table`` for a file, ``text_table`` for the terminal."""
    return markdown_table(header, rows) if markdown else text_table(header, rows)
