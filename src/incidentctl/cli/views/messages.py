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
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("ID", "STATE", "INCIDENT", "TEMPLATE", "QUEUED", "TRIES", "LAST ERROR"):
        table.add_column(name, no_wrap=name != "LAST ERROR", overflow="fold")
    for item in items:
        data = item.to_dict()
        table.add_row(
            item.id,
            Text(item.state, style="bold yellow" if item.state == "in doubt" else ""),
            data["incident"],
            data["template"],
            data["created_at"],
            str(data["attempts"]),
            Text(data["last_error"] or "-"),
        )
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
