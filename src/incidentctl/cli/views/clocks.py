"""Views of the clocks: the `status` lines and the live `watch` screen (Rich)."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from incidentctl.cli.views.columns import ansi
from incidentctl.cli.views.incident import (
    SEVERITY_STYLE,
    STATUS_STYLE,
    cell_text,
    describe,
)
from incidentctl.domain.timeparse import format_duration
from incidentctl.domain.wording import flat

if TYPE_CHECKING:
    from incidentctl.domain.obligations import Obligation
    from incidentctl.services.clocks import StatusReport

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


def _status_columns() -> tuple:
    from incidentctl.cli.views.columns import Col

    return (
        Col("ID", key=True),
        Col("SEV", key=True),
        Col("STATUS", key=True),
        Col("IC", drop=2),
        Col("AGE", drop=1),
        Col("NEXT", free=True),
        Col("DUE", key=True),
    )


def _status_rows(report: StatusReport) -> list[tuple[tuple[str, str], ...]]:
    rows = []
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
            next_cell, due_cell = (cell_text(first.label), _style(first)), (due, _style(first))
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
    return rows


def status_table(report: StatusReport, width: int | None = None) -> Any:
    """One row per incident, fitted to `width`; the titles follow in the list below."""
    from incidentctl.cli.views.columns import rich_lines

    return rich_lines(_status_columns(), _status_rows(report), width)


def obligations_list(report: StatusReport, width: int | None = None) -> Any:
    """Each incident's pending obligations, one per line (wrapped, never cut); the
    heading's title cut with "…" to `width`."""
    from rich.console import Group
    from rich.text import Text

    from incidentctl.cli.views.columns import cut

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
        title = flat(item.state.title)
        head.append(title if width is None else cut(title, max(width - len(head), 8)))
        lines.append(head)
        if not item.obligations:
            lines.append(Text("  nothing due", style="dim"))
        for o in item.obligations:
            mark = "!" if o.overdue else "-"
            lines.append(Text(f"  {mark} {obligation_text(o)}", style=_style(o)))
    return Group(*lines)


def status_view(report: StatusReport, width: int | None = None) -> Any:
    from rich.console import Group

    return Group(status_table(report, width), obligations_list(report, width))


def status_lines(report: StatusReport, *, color: bool, width: int | None = None) -> list[str]:
    """`status` as plain lines: the table of incidents, then each one's obligations.

    The same content as `status_view`, fitted to `width` by the same column plan
    (views/columns.py), hand-aligned: Rich wrapping thousands of lines took longer
    than computing every clock of ten thousand incidents."""
    from incidentctl.cli.views.columns import MIN_FREE, cells, cut
    from incidentctl.cli.views.columns import lines as column_lines

    lines = column_lines(_status_columns(), _status_rows(report), width, color=color)
    for item in report.incidents:
        s = item.state
        plain = f"{s.human_id}  {s.severity} {s.status}"
        if s.drill:
            plain += "  DRILL"
        if s.escalation_level > 1:
            plain += f"  escalated to L{s.escalation_level}"
        head = ansi(s.human_id, "bold" if color else "") + plain[len(s.human_id) :]
        title = cell_text(s.title)
        if width is None:
            lines += ["", f"{head}  {title}"]
        elif width - cells(plain) - 2 >= MIN_FREE:
            lines += ["", f"{head}  {cut(title, width - cells(plain) - 2)}"]
        else:  # a narrow terminal: the title on a line of its own
            lines += ["", head, f"  {cut(title, width - 2)}"]
        if not item.obligations:
            lines.append("  nothing due")
        for o in item.obligations:
            mark = "!" if o.overdue else "-"
            text = f"  {mark} {cell_text(obligation_text(o))}"  # names from config or the record
            if width is not None and cells(text) > width:  # wrapped, never cut
                text = "\n".join(textwrap.wrap(text, width, subsequent_indent="    "))
            lines.append(ansi(text, _style(o) if color else ""))
    return lines


def _is_inject(e: Any) -> bool:
    return getattr(e, "kind", "") == "inject"  # a drill's inject, as it arrives


def _what(e: Any) -> str:
    return ("INJECT " if _is_inject(e) else "") + cell_text(describe(e))


def watch_view(report: StatusReport, title: str, width: int | None = None) -> Any:
    """The whole `watch` screen: the status, then the latest events across incidents,
    their columns fitted to `width` (views/columns.py)."""
    from rich.console import Group
    from rich.text import Text

    header = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
    header.append(f"   {report.now.strftime('%Y-%m-%d %H:%M:%S UTC')}", style="dim")
    quit_hint = "   Ctrl-C to quit"
    parts: list[Any] = [header]
    if width is not None and len(header) + len(quit_hint) > width:
        parts.append(Text(quit_hint.strip(), style="dim"))  # a line of its own
    else:
        header.append(quit_hint, style="dim")
    parts.append(Text(""))
    if report.incidents:
        parts.append(status_view(report, width))
    else:
        parts.append(Text("no open incidents", style="dim"))
    events = report.recent_events()
    if events:
        from incidentctl.cli.views.columns import Col, rich_lines

        timeline = rich_lines(
            (
                Col("time (UTC)", key=True),
                Col("incident", key=True),
                Col("who", drop=1),
                Col("what", free=True),
            ),
            [
                (
                    (e.at.strftime("%m-%d %H:%M:%S"), ""),
                    (state.human_id + (" DRILL" if state.drill else ""), ""),
                    (cell_text(e.author or "-"), ""),
                    (_what(e), "bold" if _is_inject(e) else ""),
                )
                for state, e in reversed(events)
            ],
            width,
        )
        parts += [Text("\nlatest events", style="bold"), timeline]
    return Group(*parts)
