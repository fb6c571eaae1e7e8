"""Rich views for messages, templates and the outbox. Builds renderables; never prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from incidentctl.services.comms import Rendered
    from incidentctl.services.outbox import OutboxItem
    from incidentctl.templating.sandbox import TemplateSource


def message_panel(rendered: Rendered) -> Any:
    from rich.panel import Panel
    from rich.text import Text

    # Text, not markup: user text with [brackets] or :emoji: codes shows as typed
    return Panel(
        Text(rendered.paste_text),
        title=f"{rendered.template} · {rendered.incident}",
        title_align="left",
        subtitle=rendered.format,
        subtitle_align="right",
        border_style="cyan",
        expand=False,
    )


def short_path(source: TemplateSource, repo_root: Path) -> str:
    """Repo templates relative to the repo; built-ins relative to the installed package."""
    from incidentctl.templating.sandbox import builtin_root

    base = repo_root if source.origin == "repo" else builtin_root().parent.parent
    try:
        return source.path.relative_to(base).as_posix()
    except ValueError:
        return source.display_path


def template_table(templates: list[TemplateSource], repo_root: Path) -> Any:
    from rich.table import Table

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("NAME", "FROM", "PATH"):  # the format is the path's extension
        table.add_column(name, no_wrap=name != "PATH", overflow="fold")
    for t in templates:
        table.add_row(t.name, t.origin, short_path(t, repo_root))
    return table


def outbox_table(items: list[OutboxItem]) -> Any:
    """The outbox, one row an entry, built for the width it is printed at: on a narrow
    terminal the optional columns give way (QUEUED, then TEMPLATE, TRIES, LAST ERROR)
    and the key ones stay: the whole ID (what `outbox drop` takes), STATE, DESTINATION
    and INCIDENT, cut to its tail ("…02-12-001") when even those do not fit."""
    return _Fitted(lambda width: _outbox_table(items, width))


class _Fitted:
    """A renderable built for the width Rich gives it."""

    def __init__(self, build: Any) -> None:
        self.build = build

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self.build(options.max_width)


_OUTBOX_COLUMNS = ("ID", "STATE", "DESTINATION", "INCIDENT", "TEMPLATE", "QUEUED", "TRIES",
                   "LAST ERROR")  # fmt: skip
_GIVES_WAY = ("QUEUED", "TEMPLATE", "TRIES", "LAST ERROR")  # first to go, on a narrow terminal
_ERROR_ROOM = 16  # LAST ERROR wraps; narrower than this it goes


def _outbox_table(items: list[OutboxItem], width: int) -> Any:
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    rows = []
    for item in items:
        data = item.to_dict()
        rows.append(
            {
                "ID": item.id,
                "STATE": Text(item.state, style="bold yellow" if item.state == "in doubt" else ""),
                "DESTINATION": Text(data["destination"]),
                "INCIDENT": data["incident"],
                "TEMPLATE": data["template"],
                "QUEUED": data["created_at"],
                "TRIES": str(data["attempts"]),
                "LAST ERROR": Text(data["last_error"] or "-"),
            }
        )

    def need(name: str) -> int:  # the column's width, with its padding of 1 each side
        if name == "LAST ERROR":
            return _ERROR_ROOM + 2
        return max(cell_len(name), *(cell_len(str(row[name])) for row in rows)) + 2

    shown = list(_OUTBOX_COLUMNS)
    for name in _GIVES_WAY:
        if sum(need(c) for c in shown) <= width:
            break
        shown.remove(name)
    room = max(width - sum(need(c) for c in shown if c != "INCIDENT") - 2, 2)
    cut = room < need("INCIDENT") - 2  # even the key columns do not fit: keep the tail
    if cut:
        for row in rows:
            text = row["INCIDENT"]
            if cell_len(text) > room:
                row["INCIDENT"] = "…" + text[len(text) - (room - 1) :]
    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in shown:
        if name == "INCIDENT" and cut:  # its heading is cut too: "INCIDE…"
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=room)
        else:
            table.add_column(name, no_wrap=name != "LAST ERROR", overflow="fold")
    for row in rows:
        table.add_row(*(row[name] for name in shown))
    return table


def communications_table(records: list[dict[str, Any]]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("AT", "TEMPLATE", "CHANNEL", "VIA", "BY", "EXCERPT"):
        table.add_column(name, no_wrap=name != "EXCERPT", overflow="fold")
    for r in records:
        table.add_row(
            r["at"],
            r["template"],
            Text(r.get("channel", "")),
            r.get("via", ""),
            Text(r.get("author", "")),
            Text(r.get("excerpt", "")),
        )
    return table
