"""Rich views of incidents for `show`, `list` and `log`."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from incidentctl.domain import wording
from incidentctl.domain.timeparse import format_duration

if TYPE_CHECKING:
    from incidentctl.domain.events import EventBase
    from incidentctl.services.queries import History, IncidentView, Listing

SEVERITY_STYLE = {"P0": "bold white on red", "P1": "bold red", "P2": "yellow", "P3": "cyan"}
STATUS_STYLE = {
    "investigating": "red",
    "identified": "yellow",
    "monitoring": "blue",
    "resolved": "green",
}


def stamp(dt: datetime | None) -> str:
    return wording.stamp(dt) if dt else "-"


def describe(event: EventBase) -> str:
    """One line (or a few) saying what an event recorded."""
    data: dict[str, Any] = event.to_record()
    kind = event.type
    if kind == "declared":
        drill = "DRILL " if data.get("drill") else ""
        text = f"declared {drill}{data['severity']}: {data['title']}"
        if data.get("commander"):
            text += f" (IC {data['commander']})"
        return text
    if kind == "acknowledged":
        return "acknowledged" + (f": {data['message']}" if data.get("message") else "")
    if kind == "status_changed":
        text = f"status {data.get('previous') or '?'} -> {data['status']}"
        return text + (f": {data['message']}" if data.get("message") else "")
    if kind == "severity_changed":
        text = f"severity {data.get('previous') or '?'} -> {data['severity']}"
        return text + (f": {data['reason']}" if data.get("reason") else "")
    if kind == "impact_changed":
        return f"impact: {data['impact']}"
    if kind == "note_added":
        return f"{data['kind']}: {data['text']}"
    if kind == "role_assigned":
        return f"{data['role']} -> {data['user']}"
    if kind == "mitigated":
        return f"mitigated: {data['message']}"
    if kind == "resolved":
        return f"resolved. Root cause: {data['root_cause']} Resolution: {data['resolution']}"
    if kind == "reopened":
        return f"reopened: {data['message']}"
    if kind == "renumbered":
        return f"renumbered {data['previous']} -> {data['human_id']}"
    if kind == "runbook_step":
        from incidentctl.cli.views.runbooks import describe_runbook_step

        return describe_runbook_step(data)
    if kind in ("corrected", "retracted"):
        from incidentctl.cli.views.corrections import describe_amendment

        return describe_amendment(data)
    if kind == "escalated":
        whom = " ".join(
            p for p in (f"L{data['level']}", data.get("name", ""), data.get("to", "")) if p
        )
        return f"escalated to {whom}: {data['reason']}"
    if kind == "notified":
        return f"notified {data['who']}" + (f": {data['message']}" if data.get("message") else "")
    if kind == "communication_sent":
        where = data.get("channel") or data.get("via") or ""
        return f"sent {data['template']}" + (f" to {where}" if where else "")
    if kind == "pir_entry":
        return f"review {data['section']}: {data['text']}"
    if kind == "pir_scheduled":
        return f"review scheduled for {data['review_at']}"
    if kind == "pir_completed":
        return "review held" + (f": {data['message']}" if data.get("message") else "")
    if kind == "action_added":
        return f"action #A{data['number']}: {data['title']} ({data['owner']}, due {data['due']})"
    if kind == "action_updated":
        change = data.get("status") or "note"
        return f"action #A{data['number']} {change}" + (
            f": {data['note']}" if data.get("note") else ""
        )
    return kind


def incident_view(view: IncidentView) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    s = view.state
    header = Text()
    header.append(s.human_id, style="bold")
    header.append("  ")
    label = view.policy.label
    header.append(
        f" {s.severity}{' ' + label if label else ''} ",
        style=SEVERITY_STYLE.get(s.severity, "bold"),
    )
    header.append("  ")
    header.append(s.status, style=STATUS_STYLE.get(s.status, ""))
    if s.drill:
        header.append("  DRILL", style="bold magenta")
    title = Text(s.title, style="bold")

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("declared", f"{stamp(s.declared_at)} by {s.declared_by or '-'}")
    if s.detected_at:
        facts.add_row("detected", stamp(s.detected_at))
    if s.resolved_at:
        facts.add_row("resolved", stamp(s.resolved_at))
    facts.add_row("services", ", ".join(s.services) or "-")
    facts.add_row("impact", Text(s.impact or "-"))
    if s.root_cause:
        facts.add_row("root cause", Text(s.root_cause))
        facts.add_row("resolution", Text(s.resolution))
    if s.category:
        facts.add_row("category", s.category)
    if s.runbook:
        facts.add_row("runbook", s.runbook)
    if s.aliases:
        facts.add_row("formerly", ", ".join(s.aliases))
    facts.add_row("uid", s.uid)

    roles = Table.grid(padding=(0, 2))
    roles.add_column(style="dim")
    roles.add_column()
    for role, user in s.roles.items():
        roles.add_row(role, user)
    others = [r for r in s.responders if r not in s.roles.values()]
    if others:
        roles.add_row("responders", ", ".join(others))
    if not s.roles and not others:
        roles.add_row("-", "no roles assigned")

    clocks = Table.grid(padding=(0, 2))
    clocks.add_column(style="dim")
    clocks.add_column()
    clocks.add_column()
    for c in view.clocks:
        if c.left_out:  # counted, never shown as a duration or "ok"
            clocks.add_row(f"{c.name} ({c.label})", "left out", Text(c.left_out, style="dim"))
            continue
        elapsed = format_duration(c.elapsed) + (" so far" if c.running else "")
        target = f"target {format_duration(c.target)}" if c.target is not None else ""
        verdict = Text("")
        if c.target is not None:
            verdict = (
                Text("over target", style="bold red") if c.breached else Text("ok", style="green")
            )
        clocks.add_row(f"{c.name} ({c.label})", elapsed, Text.assemble(target, "  ", verdict))

    timeline = Table(box=None, padding=(0, 1), show_header=True, header_style="dim")
    timeline.add_column("time (UTC)", no_wrap=True)
    timeline.add_column("who", no_wrap=True)
    timeline.add_column("what", overflow="fold")
    timeline.add_column("event", no_wrap=True, style="dim")
    from incidentctl.cli.views.corrections import amendment_mark

    for e in s.timeline:
        mark, style = amendment_mark(s, e)
        what = Text(describe(e) + mark, style=style)
        timeline.add_row(e.at.strftime("%Y-%m-%d %H:%M"), e.author or "-", what, e.id[:12])

    return Group(
        header,
        title,
        Text(""),
        facts,
        Text("\nroles", style="bold"),
        roles,
        Text("\nclocks", style="bold"),
        clocks,
        Text("\ntimeline", style="bold"),
        timeline,
    )


_ANSI = {"bold white on red": "1;37;41", "bold red": "1;31", "red": "31", "yellow": "33",
         "cyan": "36", "blue": "34", "green": "32", "bold": "1"}  # fmt: skip


def cell_text(text: str) -> str:
    """User text for one cell of a line: whitespace runs as one space, and any control or
    bidi character (a pulled or hand-edited file is not checked as typed input is) as
    U+FFFD (domain/textsafety.py), so no text can break a row, send the terminal an
    escape sequence or reorder what the row shows."""
    from incidentctl.domain.textsafety import terminal_safe

    return terminal_safe(wording.flat(text), one_line=True)


def width(text: str) -> int:
    """Terminal cells `text` takes: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def pad(text: str, cells: int) -> str:
    return text + " " * (cells - width(text))


def aligned(cells: Sequence[tuple[str, str]], widths: Sequence[int], *, color: bool) -> str:
    """One line of columns: each (text, style) padded to its width in terminal cells,
    two spaces apart, the style as ANSI codes when `color`."""
    return "  ".join(
        ansi(pad(text, cells_wide), style if color else "")
        for (text, style), cells_wide in zip(cells, widths, strict=True)
    )


def ansi(text: str, style: str) -> str:
    """`text` in one of the styles above as ANSI codes; unstyled if the style is ""."""
    code = _ANSI.get(style)
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def incident_lines(
    listing: Listing, now: datetime, *, columns: int | None, color: bool
) -> list[str]:
    """`list` as aligned plain-text columns, title last.

    Hand-built rather than a Rich table: Rich measures every cell, which takes
    seconds for ten thousand incidents. `columns` truncates titles on a terminal;
    None keeps them whole (pipes)."""
    header = ("ID", "SEV", "STATUS", "DECLARED (UTC)", "AGE", "IC", "TITLE")
    rows = [
        (
            s.human_id,
            s.severity,
            s.status,
            s.declared_at.strftime("%Y-%m-%d %H:%M"),
            format_duration(s.age(now)),
            cell_text(s.commander) or "-",
            ("[DRILL] " if s.drill else "") + cell_text(s.title),
        )
        for s in listing.incidents
    ]
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    if columns is not None and sum(widths) + 2 * len(widths) + 16 > columns:
        # a narrow terminal: the declaration time gives way to the title
        header, rows = _without(header, 3), [_without(r, 3) for r in rows]
        widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    styles = {"SEV": SEVERITY_STYLE, "STATUS": STATUS_STYLE}
    lines = [aligned([(h, "") for h in header[:-1]], widths, color=False) + "  " + header[-1]]
    for row in rows:
        cells = [
            (cell, styles.get(h, {}).get(cell, ""))
            for h, cell in zip(header[:-1], row[:-1], strict=True)
        ]
        title = row[-1]
        if columns is not None:
            room = max(columns - sum(widths) - 2 * len(widths), 8)
            title = title if len(title) <= room else title[: room - 1] + "…"
        lines.append(f"{aligned(cells, widths, color=color)}  {title}".rstrip())
    return lines


def _without(row: tuple, index: int) -> tuple:
    return (*row[:index], *row[index + 1 :])


def history_table(history: History) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("COMMIT", "AUTHOR", "TIME", "SUBJECT"):
        table.add_column(name, no_wrap=name != "SUBJECT", overflow="fold")
    for e in history.entries:
        table.add_row(e.commit[:10], e.author, e.at, Text(e.subject))
    return table
