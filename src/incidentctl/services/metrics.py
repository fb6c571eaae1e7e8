"""`incidentctl metrics`: choose the incidents, compute the report, and its Markdown form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from incidentctl.errors import UsageError
from incidentctl.services.outcome import Outcome
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.compliance import Outcome
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.metrics import MetricsReport, Period
    from incidentctl.domain.policy import Config
    from incidentctl.store.repo import FileProblem, LoadedIncident

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
DATE_HINT = "use a date (2026-02-01), an ISO 8601 time, or a relative time (-30d)"
MONTHLY_TEMPLATE = "metrics/monthly"


@dataclass
class MetricsResult(Outcome):
    report: MetricsReport
    problems: list[FileProblem] = field(default_factory=list)
    # obligations met and missed, and the drills (services/drills.py): separate sections
    obligations: list[Any] = field(default_factory=list)
    drills: Any = None
    drills_included: bool = False

    def extra_dict(self) -> dict[str, Any]:
        return {
            "obligations": [row.to_dict() for row in self.obligations],
            "drills": self.drills.to_dict() if self.drills is not None else None,
            "drills_included": self.drills_included,
        }


def _start_of(day: date, ws: Workspace) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ws.config.zone).astimezone(UTC)


def _bound(ws: Workspace, text: str, option: str, *, end: bool) -> datetime:
    """A date means its whole day: `--since` from its start, `--until` through its end."""
    from incidentctl.domain.timeparse import TimeParseError, parse_date, parse_time

    s = text.strip()
    try:
        day = parse_date(text)
        if day is not None:
            return _start_of(day + timedelta(days=1) if end else day, ws)
        return parse_time(s, ws.now(), ws.config.zone)
    except TimeParseError as exc:
        raise UsageError(f"{option}: {exc}", hint=DATE_HINT) from None


def period(
    ws: Workspace,
    *,
    since: str | None = None,
    until: str | None = None,
    month: str | None = None,
    severities: list[str] | None = None,
) -> Period:
    from incidentctl.domain.metrics import Period

    wanted: list[str] = []
    for text in severities or []:
        name = ws.severity(text)
        if name not in wanted:
            wanted.append(name)
    if month is not None:
        if since is not None or until is not None:
            raise UsageError(
                "--month cannot be combined with --since or --until",
                hint="give either --month YYYY-MM or --since/--until",
            )
        m = _MONTH_RE.match(month.strip())
        if not m or not 1 <= int(m[2]) <= 12:
            raise UsageError(f"--month: not a month: {month!r}", hint="use YYYY-MM, e.g. 2026-02")
        year, number = int(m[1]), int(m[2])
        following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
        return Period(_start_of(date(year, number, 1), ws), _start_of(following, ws), tuple(wanted))
    start = _bound(ws, since, "--since", end=False) if since is not None else None
    stop = _bound(ws, until, "--until", end=True) if until is not None else None
    if start is not None and stop is not None and start >= stop:
        raise UsageError("--since is not before --until", hint="check the two dates")
    return Period(start, stop, tuple(wanted))


def metrics(ws: Workspace, chosen: Period, *, drills: bool = False) -> MetricsResult:
    """The report over real incidents; drills are left out unless `drills` (they have
    their own section, services/drills.py)."""
    from incidentctl.domain.compliance import tally
    from incidentctl.domain.metrics import build_report
    from incidentctl.services.drills import drill_metrics

    loaded, problems = ws.repo.load_all()
    everything = [item.state for item in loaded]
    history = everything if drills else [s for s in everything if not s.drill]
    now = ws.now()
    report = build_report(history, ws.config, now, chosen, ws.config.zone)
    chosen_items = [
        item
        for item, s in zip(loaded, everything, strict=True)
        if (drills or not s.drill) and chosen.contains(s)
    ]
    practice = [s for s in everything if s.drill and chosen.contains(s)]
    settled = SettledOutcomes(ws.repo.root, ws.config, now)
    obligations = tally(
        (item.state.human_id, settled.of(item, item.state)) for item in chosen_items
    )
    settled.save({s.uid for s in everything})
    return MetricsResult(
        report,
        problems,
        obligations=obligations,
        drills=drill_metrics(practice, ws.config, now, chosen.since),
        drills_included=drills,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class SettledOutcomes:
    """The obligation outcomes (domain/compliance.py) of the resolved incidents as a
    report last computed them, so that the next need not: uid -> (folder tree id, when
    computed, valid until, the outcomes as (kind, label, met)), for one configuration
    (a digest of it), kept beside the state cache (times as microseconds since the
    epoch: ten thousand datetimes unpickle slowly).

    Never stale: a resolved incident's outcomes change only with an event (a new tree
    id), the config (a new digest), or time passing the due time of a check still
    pending (`settled_until`, the entry's "valid until"). A clock set back before the
    computation (INCIDENTCTL_NOW) computes again. Open incidents, and folders whose
    state is not exactly HEAD's (uncommitted, or not committed at all), are always
    computed afresh and never kept."""

    PART = "outcomes"

    def __init__(self, root: Any, config: Config, now: datetime) -> None:
        import hashlib

        from incidentctl.store.cache import StateCache

        self.config = config
        self.now = now
        self.now_us = _micros(now)
        self.cache = StateCache(root)
        self.key = hashlib.blake2b(repr(config).encode(), digest_size=16).hexdigest()
        got = self.cache.read_part(self.PART)
        ok = isinstance(got, tuple) and len(got) == 2 and got[0] == self.key
        self.known: dict[str, tuple[str, int, int | None, tuple[Outcome, ...]]] = (
            got[1] if ok and isinstance(got[1], dict) else {}
        )
        self.changed = False
        self._same: dict[Any, Any] = {}  # equal outcome tuples shared: a smaller file

    def hit(
        self, item: LoadedIncident, state: IncidentState | None = None
    ) -> tuple[Outcome, ...] | None:
        """The kept outcomes of a resolved incident, if still true now, else None. Its
        state is not unpickled for them (`state`: the one already at hand, if any)."""
        if state is not None:
            uid, is_open = state.uid, state.is_open
        else:
            brief = item.brief
            uid, is_open = brief.uid, brief.is_open
        if is_open or item.tree is None or item.uncommitted:
            return None
        entry = self.known.get(uid)
        if (
            entry is not None
            and entry[0] == item.tree
            and entry[1] <= self.now_us
            and (entry[2] is None or self.now_us < entry[2])
        ):
            return entry[3]
        return None

    def of(self, item: LoadedIncident, state: IncidentState | None = None) -> tuple[Outcome, ...]:
        """The incident's outcomes now: kept, or computed (and kept, if resolved)."""
        from incidentctl.domain.compliance import outcomes, settled_until

        found = self.hit(item, state)
        if found is not None:
            return found
        state = item.state
        checks = outcomes(state, self.config, self.now)
        same = self._same
        judged = tuple(same.setdefault(t, t) for t in ((c.kind, c.label, c.met) for c in checks))
        judged = same.setdefault(judged, judged)
        if not state.is_open and item.tree is not None and not item.uncommitted:
            until = settled_until(checks, self.now)
            self.known[state.uid] = (
                item.tree,
                self.now_us,
                None if until is None else _micros(until),
                judged,
            )
            self.changed = True
        return judged

    def save(self, present: set[str]) -> None:
        """Write what was learnt, keeping only the incidents still `present` (uids)."""
        if self.changed:
            kept = {uid: e for uid, e in self.known.items() if uid in present}
            self.cache.write_part(self.PART, (self.key, kept))
            self.changed = False


def _span(seconds: float | None) -> str:
    from incidentctl.domain.timeparse import format_duration

    return "" if seconds is None else format_duration(timedelta(seconds=round(seconds)))


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _verdict(passed: bool | None) -> str:
    return "" if passed is None else ("pass" if passed else "fail")


def _period_title(report: MetricsReport, month: str | None) -> str:
    if month:
        return month.strip()
    p = report.period
    if p.since is None and p.until is None:
        return "all time"
    since = p.since.strftime("%Y-%m-%d") if p.since else "…"
    until = (p.until - timedelta(seconds=1)).strftime("%Y-%m-%d") if p.until else "…"
    return f"{since} to {until}"


def markdown_context(ws: Workspace, report: MetricsReport, month: str | None) -> dict[str, Any]:
    """The monthly report's fields: numbers already formatted, text raw (escaped by the template)."""
    largest = max((m.stats.mean or 0 for m in report.months), default=0)
    metric_rows = []
    for name, rows in report.results.items():
        for r in rows[1:]:
            metric_rows.append(
                {
                    "metric": name,
                    "severity": r.severity,
                    "count": r.stats.count,
                    "left_out": r.stats.left_out,
                    "mean": _span(r.stats.mean),
                    "median": _span(r.stats.median),
                    "p90": _span(r.stats.p90),
                    "target": _span(r.target.total_seconds()) if r.target is not None else "",
                    "result": _verdict(r.passed),
                }
            )
    return {
        "org": ws.config.incident.org,
        "period": _period_title(report, month),
        "severities": list(report.period.severities),
        "total": report.total,
        "counts": [
            {"severity": c.severity, "total": c.total, "open": c.open, "resolved": c.resolved}
            for c in report.counts
        ],
        "metrics": metric_rows,
        "months": [
            {
                "month": m.month,
                "incidents": m.incidents,
                "count": m.stats.count,
                "mean": _span(m.stats.mean),
                "bar": "█" * max(1, round(20 * m.stats.mean / largest))
                if m.stats.mean and largest
                else "",
            }
            for m in report.months
        ],
        "root_causes": [{"category": c, "count": n} for c, n in report.root_causes],
        "uncategorised": report.uncategorised,
        "actions": {
            "total": report.actions.total,
            "done": report.actions.by_status.get("done", 0),
            "wont_do": report.actions.by_status.get("wont-do", 0),
            "completion_rate": _percent(report.actions.completion_rate),
            "overdue": report.actions.overdue,
        },
        "reviews": {
            "severities": list(report.reviews.severities),
            "required": report.reviews.required,
            "completed": report.reviews.completed,
            "completion_rate": _percent(report.reviews.completion_rate),
            "target": _percent(report.reviews.target),
            "result": _verdict(report.reviews.passed),
            "due": report.reviews.due,
            "on_time": report.reviews.on_time,
            "on_time_rate": _percent(report.reviews.on_time_rate),
        },
        "communication": [_comms_row(m) for m in report.communication],
        "recurrence": {
            "rule": report.recurrence.rule_text,
            "counted": report.recurrence.counted,
            "window": _span(report.recurrence.window.total_seconds())
            if report.recurrence.window is not None
            else "",
            "incidents": report.recurrence.incidents,
            "repeats": [
                {"id": r.incident, "earlier": r.earlier, "match": r.match}
                for r in report.recurrence.repeats
            ],
            "rate": _percent(report.recurrence.rate),
            "target": _percent(report.recurrence.target),
            "result": _verdict(report.recurrence.passed),
        },
    }


COMMS_TITLES = {
    "initial": "Initial update",
    "regular": "Regular updates",
    "final": "Final update",
}


def comms_target_text(name: str, targets: list[str]) -> str:
    """'within 15m of declaration', 'every 15m-30m', 'within 1h of resolution'."""
    span = "-".join(targets) if len(targets) > 1 else (targets[0] if targets else "-")
    if name == "initial":
        return f"within {span} of declaration"
    if name == "regular":
        return f"every {span}"
    return f"within {span} of resolution"


def comms_targets(m: Any) -> list[str]:
    from incidentctl.domain.timeparse import format_duration

    seen = sorted({c.target for c in m.checks})
    return [format_duration(t) for t in seen]


def worst_text(m: Any) -> str:
    from incidentctl.domain.timeparse import format_duration

    worst = m.worst
    if worst is None:
        return ""
    if worst.value is None:
        return f"{worst.incident}: never sent"
    return f"{worst.incident}: {format_duration(worst.value)}, {format_duration(worst.miss)} late"


def _comms_row(m: Any) -> dict[str, Any]:
    return {
        "name": COMMS_TITLES.get(m.name, m.name),
        "key": m.name,
        "meaning": m.meaning,
        "target": comms_target_text(m.name, comms_targets(m)) if m.checks else "",
        "incidents": len(m.checks),
        "met": m.met,
        "share": _percent(m.share),
        "worst": worst_text(m),
    }


def markdown(ws: Workspace, report: MetricsReport, month: str | None = None) -> str:
    from incidentctl.templating.sandbox import render_template

    return render_template(MONTHLY_TEMPLATE, markdown_context(ws, report, month), ws.repo.root)
