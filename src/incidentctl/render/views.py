"""Rich views of incidents for `show`, `list` and `log`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "-"


def describe(event: EventBase) -> str:
    """One line (or a few) saying what an event recorded."""
    data: dict[str, Any] = event.to_record()
    kind = event.type
    if kind == "declared":
        text = f"declared {data['severity']}: {data['title']}"
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
    if kind in ("corrected", "retracted"):
        from incidentctl.render.corrections import describe_amendment

        return describe_amendment(data)
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
    from incidentctl.render.corrections import amendment_mark

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


def incident_table(listing: Listing, now: datetime) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("ID", "SEV", "STATUS", "TITLE", "IC", "DECLARED", "AGE"):
        table.add_column(name, no_wrap=name != "TITLE", overflow="fold")
    for s in listing.incidents:
        end = s.resolved_at or now
        table.add_row(
            s.human_id,
            Text(s.severity, style=SEVERITY_STYLE.get(s.severity, "")),
            Text(s.status, style=STATUS_STYLE.get(s.status, "")),
            Text(s.title),
            s.commander or "-",
            stamp(s.declared_at),
            format_duration(end - s.declared_at),
        )
    return table


def history_table(history: History) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("COMMIT", "AUTHOR", "TIME", "SUBJECT"):
        table.add_column(name, no_wrap=name != "SUBJECT", overflow="fold")
    for e in history.entries:
        table.add_row(e.commit[:10], e.author, e.at, Text(e.subject))
    return table
