"""Rich views of incidents for `show`, `list` and `log`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from incidentctl.cli.views.columns import ansi  # noqa: F401 (the views' one ANSI styler)
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


def incident_view(view: IncidentView, width: int | None = None) -> Any:
    """The `show` screen; its timeline fitted to `width` (views/columns.py)."""
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

    from incidentctl.cli.views.columns import Col, rich_lines
    from incidentctl.cli.views.corrections import amendment_mark

    rows = []
    for e in s.timeline:
        mark, style = amendment_mark(s, e)
        rows.append(
            (
                (e.at.strftime("%Y-%m-%d %H:%M"), ""),
                (cell_text(e.author or "-"), ""),
                (cell_text(describe(e) + mark), style or ""),
                (e.id[:12], ""),
            )
        )
    timeline = rich_lines(
        (
            Col("time (UTC)", key=True),
            Col("who", drop=2),
            Col("what", free=True, wrap=True),
            Col("event", drop=1, style="dim"),
        ),
        rows,
        width,
    )

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


def cell_text(text: str) -> str:
    """User text for one cell of a line: whitespace runs as one space, and any control or
    bidi character (a pulled or hand-edited file is not checked as typed input is) as
    U+FFFD (domain/textsafety.py), so no text can break a row, send the terminal an
    escape sequence or reorder what the row shows."""
    from incidentctl.domain.textsafety import terminal_safe

    return terminal_safe(wording.flat(text), one_line=True)


def incident_lines(
    listing: Listing, now: datetime, *, columns: int | None, color: bool
) -> list[str]:
    """`list` as aligned plain-text columns, title last, fitted to `columns` (None: a
    pipe, nothing cut) by views/columns.py: ID, severity and status stay whole, the
    declaration time, IC and age give way, the title is cut with "…".

    Hand-built rather than a Rich table: Rich measures every cell, which takes
    seconds for ten thousand incidents."""
    from incidentctl.cli.views.columns import Col, lines

    cols = (
        Col("ID", key=True),
        Col("SEV", key=True),
        Col("STATUS", key=True),
        Col("DECLARED (UTC)", drop=1),
        Col("AGE", drop=3),
        Col("IC", drop=2),
        Col("TITLE", free=True),
    )
    rows = [
        (
            (s.human_id, ""),
            (s.severity, SEVERITY_STYLE.get(s.severity, "")),
            (s.status, STATUS_STYLE.get(s.status, "")),
            (s.declared_at.strftime("%Y-%m-%d %H:%M"), ""),
            (format_duration(s.age(now)), ""),
            (cell_text(s.commander) or "-", ""),
            (("[DRILL] " if s.drill else "") + cell_text(s.title), ""),
        )
        for s in listing.incidents
    ]
    return lines(cols, rows, columns, color=color)


def history_table(history: History) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("COMMIT", "AUTHOR", "TIME", "SUBJECT"):
        table.add_column(name, no_wrap=name != "SUBJECT", overflow="fold")
    for e in history.entries:
        table.add_row(e.commit[:10], e.author, e.at, Text(e.subject))
    return table
