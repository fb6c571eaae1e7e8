"""Mermaid text: the escaping for user text in a diagram, and the gantt chart of an
incident's phases (GitHub renders a ```mermaid block).

Mermaid's gantt grammar (mermaid.js.org/syntax/gantt.html) is line-based: `title
TEXT`, `dateFormat`, `axisFormat`, `section NAME`, and task lines
`NAME :[tags,] ID, START, END`. A task name ends at the first `:`; `%%` starts a
comment; `#` and `;` introduce entity codes (`#35;`); a label may hold HTML. And
the diagram sits in a Markdown ``` fence. So user text is put on one line, and `#`,
`:`, `;`, `%`, a backtick, `<` and `>` are written as entity codes, which Mermaid
shows as the characters themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DATE_FORMAT = "YYYY-MM-DD HH:mm:ss"  # dayjs tokens, as Mermaid parses dates
_STRFTIME = "%Y-%m-%d %H:%M:%S"
_ENTITIES = {c: f"#{ord(c)};" for c in "#:;%`<>"}


def escape_mermaid(text: str) -> str:
    """`text` safe inside one Mermaid line: whitespace (newlines too) as one space, no
    control character, and the grammar's own characters as entity codes."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    return "".join(_ENTITIES.get(c, c) for c in flat)


def gantt(title: str, phases: Sequence[Any]) -> str:
    """A gantt chart, one task per phase (domain/chart.py), in one section."""
    lines = [
        "gantt",
        f"    title {escape_mermaid(title)}",
        f"    dateFormat {DATE_FORMAT}",
        "    axisFormat %H:%M",
        "    section Phases",
    ]
    for n, p in enumerate(phases, 1):
        tags = "active, " if p.ongoing else ""
        lines.append(
            f"    {escape_mermaid(p.name)} :{tags}p{n}, "
            f"{p.start.strftime(_STRFTIME)}, {p.end.strftime(_STRFTIME)}"
        )
    return "\n".join(lines) + "\n"
