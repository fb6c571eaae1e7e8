"""Views of the clocks: the `status` lines and the live `watch` screen (Rich)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from incidentctl.cli.views.incident import (
    SEVERITY_STYLE,
    STATUS_STYLE,
    aligned,
    ansi,
    cell_text,
    describe,
    width,
)
from incidentctl.domain.timeparse import format_duration
from incidentctl.domain.wording import flat

if TYPE_CHECKING:
    from incidentctl.domain.obligations import Obligation
    from incidentctl.services.clocks import IncidentClocks, StatusReport

OVERDUE_STYLE = "bold red"
SOON = timedelta(minutes=5)  # display only: a countdown this close is shown in yellow


def countdown(o: Obligation) -> str:
    """'due in 4m', 'overdue by 12m', 'due now'."""
    if o.overdue:
        return f"overdue by {format_duration(-o.left)}"
    if o.left < timedelta(seconds=1):
        return "due now"
    return f"due in {format_duration(o.left)}"


def obligation_text(o: Obligation) -> str:
    """One line: 'Customer communication due in 4m', 'Notify CTO: P0 unresolved for 1h,
    overdue by 5m', 'Next update due in 12m (every 15m)'."""
    if o.kind == "notify":
        return f"{o.label}: {o.detail}, {countdown(o)}"
    text = f"{o.label} {countdown(o)}"
    return f"{text} ({o.detail})" if o.detail else text


def _style(o: Obligation) -> str:
    if o.overdue:
        return OVERDUE_STYLE
    return "yellow" if o.left <= SOON else ""


def _next_cell(item: IncidentClocks) -> Any:
    from rich.text import Text

    first = item.next
    return Text(first.label, style=_style(first)) if first else Text("-")


def _due_cell(item: IncidentClocks) -> Any:
    from rich.text import Text

    first = item.next
    if first is None:
        return Text("-")
    if first.overdue:
        return Text(f"{format_duration(-first.left)} overdue", style=OVERDUE_STYLE)
    return Text(countdown(first).removeprefix("due "), style=_style(first))


def status_table(report: StatusReport) -> Any:
    """One row per incident; the titles follow in the list below, where they have room."""
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("ID", "SEV", "STATUS", "IC", "AGE"):
        table.add_column(name, no_wrap=name in ("ID", "SEV", "AGE"))
    table.add_column("NEXT", min_width=12)
    table.add_column("DUE", min_width=8)
    for item in report.incidents:
        s = item.state
        table.add_row(
            s.human_id,
            Text(s.severity, style=SEVERITY_STYLE.get(s.severity, "")),
            Text(s.status, style=STATUS_STYLE.get(s.status, "")),
            Text(s.commander or "-"),
            format_duration(s.age(report.now)),
            _next_cell(item),
            _due_cell(item),
        )
    return table


def obligations_list(report: StatusReport) -> Any:
    """Each incident's pending obligations, one per line."""
    from rich.console import Group
    from rich.text import Text

    lines: list[Any] = []
    for item in report.incidents:
        lines.append(Text(""))
        head = Text(item.state.human_id, style="bold")
        head.append(f"  {item.state.severity} {item.state.status}", style="dim")
        if item.state.drill:
            head.append("  DRILL", style="bold magenta")
        if item.state.escalation_level > 1:
            head.append(f"  escalated to L{item.state.escalation_level}", style="dim")
        head.append("  ")
        head.append(flat(item.state.title))
        lines.append(head)
        if not item.obligations:
            lines.append(Text("  nothing due", style="dim"))
        for o in item.obligations:
            mark = "!" if o.overdue else "-"
            lines.append(Text(f"  {mark} {obligation_text(o)}", style=_style(o)))
    return Group(*lines)


def status_view(report: StatusReport) -> Any:
    from rich.console import Group

    return Group(status_table(report), obligations_list(report))


def status_lines(report: StatusReport, *, color: bool) -> list[str]:
    """`status` as plain lines: the table of incidents, then each one's obligations.

    The same content as `status_view`, hand-aligned: Rich wrapping thousands of lines
    took longer than computing every clock of ten thousand incidents."""
    header = ("ID", "SEV", "STATUS", "IC", "AGE", "NEXT", "DUE")
    rows: list[tuple[tuple[str, str], ...]] = []
    for item in report.incidents:
        s, first = item.state, item.next
        if first is None:
            next_cell = due_cell = ("-", "")
        else:
            due = (
                f"{format_duration(-first.left)} overdue"
                if first.overdue
                else countdown(first).removeprefix("due ")
            )
            next_cell, due_cell = (first.label, _style(first)), (due, _style(first))
        rows.append(
            (
                (s.human_id, ""),
                (s.severity, SEVERITY_STYLE.get(s.severity, "")),
                (s.status, STATUS_STYLE.get(s.status, "")),
                (cell_text(s.commander) or "-", ""),
                (format_duration(s.age(report.now)), ""),
                next_cell,
                due_cell,
            )
        )
    widths = [max(width(row[i][0]) for row in rows) for i in range(len(header))]
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    lines = [aligned([(h, "") for h in header], widths, color=False).rstrip()]
    lines += [aligned(row, widths, color=color).rstrip() for row in rows]
    for item in report.incidents:
        s = item.state
        head = f"{ansi(s.human_id, 'bold' if color else '')}  {s.severity} {s.status}"
        if s.drill:
            head += "  DRILL"
        if s.escalation_level > 1:
            head += f"  escalated to L{s.escalation_level}"
        lines += ["", f"{head}  {cell_text(s.title)}"]
        if not item.obligations:
            lines.append("  nothing due")
        for o in item.obligations:
            mark = "!" if o.overdue else "-"
            text = cell_text(obligation_text(o))  # names from config or the record
            lines.append(ansi(f"  {mark} {text}", _style(o) if color else ""))
    return lines


def watch_view(report: StatusReport, title: str) -> Any:
    """The whole `watch` screen: the status, then the latest events across incidents."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    header = Text(title, style="bold")
    header.append(f"   {report.now.strftime('%Y-%m-%d %H:%M:%S UTC')}", style="dim")
    header.append("   Ctrl-C to quit", style="dim")
    parts: list[Any] = [header, Text("")]
    if report.incidents:
        parts.append(status_view(report))
    else:
        parts.append(Text("no open incidents", style="dim"))
    events = report.recent_events()
    if events:
        timeline = Table(box=None, padding=(0, 1), header_style="dim", title_justify="left")
        timeline.add_column("time (UTC)", no_wrap=True)
        timeline.add_column("incident", no_wrap=True)
        timeline.add_column("who", no_wrap=True)
        timeline.add_column("what", overflow="fold")
        for state, e in reversed(events):
            inject = getattr(e, "kind", "") == "inject"  # a drill's inject, as it arrives
            timeline.add_row(
                e.at.strftime("%m-%d %H:%M:%S"),
                state.human_id + (" DRILL" if state.drill else ""),
                Text(e.author or "-"),
                Text(("INJECT " if inject else "") + describe(e), style="bold" if inject else ""),
            )
        parts += [Text("\nlatest events", style="bold"), timeline]
    return Group(*parts)
