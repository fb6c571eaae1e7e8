"""Columns that fit the terminal: the one place a view's table meets its width.

A view names its columns once, each as one of three kinds:

- a key column (`key=True`: ID, severity, status, due) is never dropped, cut or wrapped;
- an extra column (`drop=N`) gives way when the row does not fit, the lowest N first;
- the free-text column (`free=True`: a title, what happened) takes the room that is left
  and is cut with "…" (or, `wrap=True`, wrapped onto more lines).

`fit` plans the layout for a width; `lines` draws it as text (ANSI colours optional),
`rich_lines` as Rich Text. When even the key columns do not fit on one line (a
40-column terminal), each row continues on an indented second line, as its header does.
Without a width (a pipe, no COLUMNS) nothing is dropped or cut.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GAP = 2  # spaces between columns
INDENT = 2  # a row's continuation line starts this far in
MIN_FREE = 16  # the free text column is never planned narrower than this
ELLIPSIS = "…"

Cell = tuple[str, str]  # (text, style): a style is a Rich style string, "" for none


@dataclass(frozen=True)
class Col:
    header: str
    key: bool = False
    drop: int = 0
    free: bool = False
    wrap: bool = False
    style: str = ""  # a style for the whole column (cells may add their own)


@dataclass(frozen=True)
class Plan:
    """Which columns a row shows, on which line, how wide."""

    lines: tuple[tuple[int, ...], ...]  # column indexes on each line of a row
    widths: dict[int, int]  # cells each shown column takes; the free one: its room
    cut: bool  # the free text is cut (or wrapped) to its width


def cells(text: str) -> int:
    """Terminal cells `text` takes: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def cut(text: str, room: int) -> str:
    """`text` in at most `room` cells, ending in "…" when something was cut."""
    if cells(text) <= room:
        return text
    out, used = [], 0
    for c in text:
        w = cells(c)
        if used + w > room - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + ELLIPSIS


ANSI_CODES = {"bold white on red": "1;37;41", "bold red": "1;31", "red": "31", "yellow": "33",
         "cyan": "36", "blue": "34", "green": "32", "bold": "1"}  # fmt: skip


def ansi(text: str, style: str) -> str:
    """`text` in one of the styles above as ANSI codes; unstyled if the style is ""."""
    code = ANSI_CODES.get(style)
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def fit(cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int | None) -> Plan:
    natural = {
        i: max([cells(c.header)] + [cells(row[i][0]) for row in rows]) for i, c in enumerate(cols)
    }
    kept = list(range(len(cols)))
    if width is None:
        return Plan((tuple(kept),), natural, cut=False)

    def need(shown: Sequence[int], indent: int = 0) -> int:
        return (
            indent
            + sum(min(natural[i], MIN_FREE) if cols[i].free else natural[i] for i in shown)
            + GAP * (len(shown) - 1)
        )

    droppable = sorted((c.drop, i) for i, c in enumerate(cols) if c.drop and not c.key)
    while need(kept) > width and droppable:
        kept.remove(droppable.pop(0)[1])
    if need(kept) <= width:
        lines = [tuple(kept)]
    else:  # the key columns and the free text do not fit on one line: rows take two
        keys = [i for i in kept if not cols[i].free]
        rest = [i for i in kept if cols[i].free]
        lines, line, indent = [], [], 0
        for i in keys:  # as many key columns on each line as fit, the free text last
            if line and need([*line, i], indent) > width:
                lines.append(tuple(line))
                line, indent = [], INDENT
            line.append(i)
        if line and rest and need([*line, *rest], indent) > width:
            lines.append(tuple(line))
            line = []
        lines.append(tuple(line + rest))
    widths = dict(natural)
    for n, line in enumerate(lines):
        indent = INDENT if n else 0
        for i in line:
            if cols[i].free:
                others = sum(natural[j] for j in line if j != i) + GAP * (len(line) - 1)
                widths[i] = max(min(natural[i], width - indent - others), 1)
    return Plan(tuple(lines), {i: widths[i] for line in lines for i in line}, cut=True)


def _line_parts(
    cols: Sequence[Col], plan: Plan, line: Sequence[int], row: Sequence[Cell]
) -> list[list[tuple[str, str, int]]]:
    """One line of a row as (text, style, width) per column; wrapped free text adds
    further lines, blank in the other columns."""
    parts, extra = [], []
    for k, i in enumerate(line):
        text, style = row[i]
        style = " ".join(s for s in (cols[i].style, style) if s)
        w = plan.widths[i]
        if cols[i].free and plan.cut:
            if cols[i].wrap:
                pieces = textwrap.wrap(text, w, break_long_words=True) or [""]
                text = pieces[0]
                for n, piece in enumerate(pieces[1:]):
                    if len(extra) <= n:
                        extra.append([("", "", plan.widths[j]) for j in line])
                    extra[n][k] = (piece, style, w)
            else:
                text = cut(text, w)
        parts.append((text, style, w))
    return [parts, *extra]


def _row_lines(cols: Sequence[Col], plan: Plan, row: Sequence[Cell]) -> list[tuple[int, list]]:
    """(indent, parts) for each line one row takes."""
    return [
        (INDENT if n else 0, parts)
        for n, line in enumerate(plan.lines)
        for parts in _line_parts(cols, plan, line, row)
    ]


def _pad(text: str, w: int) -> str:
    return text + " " * (w - cells(text))


def lines(
    cols: Sequence[Col],
    rows: Sequence[Sequence[Cell]],
    width: int | None,
    *,
    color: bool,
    header: bool = True,
) -> list[str]:
    """The table as lines of text, styles as ANSI codes when `color` (the header plain)."""
    plan = fit(cols, rows, width)
    out = []
    table: list[tuple[Sequence[Cell], bool]] = [(row, color) for row in rows]
    if header:
        table.insert(0, ([(c.header, "") for c in cols], False))
    for row, colored in table:
        for indent, parts in _row_lines(cols, plan, row):
            text = (GAP * " ").join(
                ansi(_pad(t, w), s) if colored and s else _pad(t, w) for t, s, w in parts
            )
            out.append((" " * indent + text).rstrip())
    return out


def rich_lines(
    cols: Sequence[Col],
    rows: Sequence[Sequence[Cell]],
    width: int | None,
    *,
    header_style: str = "dim",
) -> Any:
    """The table as Rich Text lines (a Group), one Text per line: nothing for Rich to
    wrap, as every line is planned to fit `width`."""
    from rich.console import Group
    from rich.text import Text

    plan = fit(cols, rows, width)
    out = []
    table: list[tuple[Sequence[Cell], str]] = [([(c.header, "") for c in cols], header_style)]
    table += [(row, "") for row in rows]
    for row, row_style in table:
        for indent, parts in _row_lines(cols, plan, row):
            line = Text(" " * indent, no_wrap=True, overflow="ellipsis")
            for k, (t, s, w) in enumerate(parts):
                if k:
                    line.append(" " * GAP)
                line.append(_pad(t, w) if k < len(parts) - 1 else t, style=row_style or s)
            line.rstrip()
            out.append(line)
    return Group(*out)
