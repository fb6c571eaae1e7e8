"""The Rich views of `action list` and `metrics`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from incidentctl.domain.timeparse import format_duration
from incidentctl.domain.wording import flat, stamp

if TYPE_CHECKING:
    from incidentctl.domain.metrics import MetricResult, MetricsReport
    from incidentctl.services.actions import ActionListing

_STATUS_STYLE = {"not-started": "", "in-progress": "yellow", "done": "green", "wont-do": "dim"}


def action_table(listing: ActionListing) -> Any:
    from rich.table import Table
    from rich.text import Text

    from incidentctl.domain.review import STATUS_LABELS

    table = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("ID", "TITLE", "OWNER", "DUE", "PRI", "TYPE", "STATUS"):
        table.add_column(name, no_wrap=name != "TITLE", overflow="fold")
    for row in listing.rows:
        a = row.action
        due = Text(a.due.isoformat(), style="bold red" if row.overdue else "")
        if row.overdue:
            due.append(" overdue", style="bold red")
        table.add_row(
            row.label,
            Text(flat(a.title)),
            Text(a.owner),
            due,
            a.priority,
            a.kind,
            Text(STATUS_LABELS.get(a.status, a.status), style=_STATUS_STYLE.get(a.status, "")),
        )
    return table


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def span(value: float | None) -> str:
    return "-" if value is None else format_duration(timedelta(seconds=round(value)))


def verdict_text(passed: bool | None) -> Any:
    from rich.text import Text

    if passed is None:
        return Text("-", style="dim")
    return Text("pass", style="green") if passed else Text("FAIL", style="bold red")


def _metric_row(r: MetricResult) -> list[Any]:
    from rich.text import Text

    return [
        r.metric.name,
        r.severity or "all",
        str(r.stats.count),
        str(r.stats.left_out) if r.stats.left_out else "",
        span(r.stats.mean),
        span(r.stats.median),
        span(r.stats.p90),
        span(r.target.total_seconds()) if r.target is not None else Text("-", style="dim"),
        verdict_text(r.passed),
    ]


def bar_chart(months: list[tuple[str, float | None, int]], width: int = 40) -> Any:
    """(label, seconds or None, count) rows as horizontal bars, scaled to the largest."""
    from rich.table import Table
    from rich.text import Text

    largest = max((v for _, v, _ in months if v), default=0.0)
    table = Table(box=None, padding=(0, 1), show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    for label, value, count in months:
        if value is None:
            table.add_row(label, Text(""), Text("no resolved incidents", style="dim"))
            continue
        cells = max(1, round(width * value / largest)) if largest else 1
        table.add_row(
            label,
            Text("█" * cells, style="cyan"),
            f"{span(value)} (n={count})",
        )
    return table


def metrics_view(report: MetricsReport, repeats_shown: int | None = None) -> Any:
    """The metrics report as Rich renderables; at most `repeats_shown` repeats (the latest)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    def section(title: str) -> Text:
        return Text(f"\n{title}", style="bold")

    period = "all time"
    if report.period.since or report.period.until:
        since = stamp(report.period.since) if report.period.since else "…"
        until = stamp(report.period.until) if report.period.until else "…"
        period = f"{since} to {until} (until excluded)"
    header = Text.assemble(
        ("Incident metrics", "bold"),
        f"  {period}",
        f"  · severities {', '.join(report.period.severities)}" if report.period.severities else "",
    )
    if not report.counts:
        return Group(header, Text("no incidents in this period", style="dim"))

    counts = Table(box=None, padding=(0, 2), header_style="dim")
    for name in ("SEVERITY", "INCIDENTS", "OPEN", "RESOLVED"):
        counts.add_column(name, justify="left" if name == "SEVERITY" else "right")
    for c in report.counts:
        counts.add_row(c.severity, str(c.total), str(c.open), str(c.resolved))
    counts.add_row(
        Text("total", style="bold"),
        str(report.total),
        str(sum(c.open for c in report.counts)),
        str(sum(c.resolved for c in report.counts)),
    )

    metrics = Table(box=None, padding=(0, 1), header_style="dim")
    for name in ("METRIC", "SEV", "N", "LEFT OUT", "MEAN", "MEDIAN", "P90", "TARGET", ""):
        metrics.add_column(name, no_wrap=True)
    for rows in report.results.values():
        for r in rows:
            if r.severity == "" and len(rows) == 2:
                continue  # one severity: its own row says it all
            metrics.add_row(*_metric_row(r))
        metrics.add_section()

    chart = bar_chart([(m.month, m.stats.mean, m.stats.count) for m in report.months])

    causes = Table(box=None, padding=(0, 2), header_style="dim")
    causes.add_column("CATEGORY")
    causes.add_column("INCIDENTS", justify="right")
    for category, count in report.root_causes[:10]:
        causes.add_row(Text(category), str(count))
    if report.uncategorised:
        causes.add_row(Text("(no category)", style="dim"), str(report.uncategorised))

    quality = Table.grid(padding=(0, 2))
    quality.add_column(style="dim", no_wrap=True)
    quality.add_column()
    a = report.actions
    quality.add_row(
        "action items",
        f"{a.by_status.get('done', 0)} of {a.total - a.by_status.get('wont-do', 0)} done "
        f"({percent(a.completion_rate)}) · {a.overdue} overdue",
    )
    rv = report.reviews
    held = Text(f"{rv.completed} of {rv.required} held ({percent(rv.completion_rate)})")
    if rv.target is not None:
        held.append(f" · target {percent(rv.target)} ")
        held.append_text(verdict_text(rv.passed))
    quality.add_row(f"reviews ({', '.join(rv.severities) or 'none required'})", held)
    quality.add_row("reviews on time", f"{rv.on_time} of {rv.due} due ({percent(rv.on_time_rate)})")
    rc = report.recurrence
    if not rc.counted:
        quality.add_row("repeats", "not counted: no recurrence_window configured")
    else:
        repeats = Text(f"{len(rc.repeats)} of {rc.incidents} ({percent(rc.rate)})")
        if rc.target is not None:
            repeats.append(f" · target at most {percent(rc.target)} ")
            repeats.append_text(verdict_text(rc.passed))
        else:
            repeats.append(" · no target", style="dim")
        within = f" within {format_duration(rc.window)}" if rc.window is not None else ""
        quality.add_row(f"repeats ({rc.rule_text}{within})", repeats)
        shown = rc.repeats if repeats_shown is None else rc.repeats[-repeats_shown:]
        if len(shown) < len(rc.repeats):
            earlier = len(rc.repeats) - len(shown)
            quality.add_row(
                "", Text(f"... {earlier} earlier repeats (--all lists them)", style="dim")
            )
        for r in shown:
            quality.add_row("", Text(f"{r.incident} repeats {r.earlier} ({r.match})"))

    comms = _comms_table(report)

    return Group(
        header,
        section("incidents"),
        counts,
        section("response times"),
        metrics,
        section("MTTR by month"),
        chart,
        section("root causes"),
        causes,
        section("quality"),
        quality,
        section("communication"),
        comms,
    )


def _comms_table(report: MetricsReport) -> Any:
    from rich.table import Table
    from rich.text import Text

    from incidentctl.services.metrics import (
        COMMS_TITLES,
        comms_target_text,
        comms_targets,
        worst_text,
    )

    table = Table(box=None, padding=(0, 2), header_style="dim")
    for name in ("UPDATE", "TARGET", "MET", "WORST MISS"):
        table.add_column(name, no_wrap=name != "WORST MISS")
    for m in report.communication:
        if not m.checks:
            table.add_row(COMMS_TITLES.get(m.name, m.name), Text("no target", style="dim"), "-", "")
            continue
        met = f"{m.met} of {len(m.checks)} ({percent(m.share)})"
        table.add_row(
            COMMS_TITLES.get(m.name, m.name),
            comms_target_text(m.name, comms_targets(m)),
            met,
            Text(worst_text(m) or "-", style="red" if m.worst else "dim"),
        )
    return table
