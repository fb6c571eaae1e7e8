"""Response metrics over many incidents. Pure: the incidents, the policy and "now" come in.

Definitions (the WAOOAW procedures' Metrics & Reporting):

    MTTD  detected     -> declared      target: detect_within
    MTTA  declared     -> acknowledged  target: ack_within
    MTTI  declared     -> identified    target: identify_within
    MTTM  identified   -> mitigated     target: mitigate_within
    MTTR  declared     -> resolved      target: resolve_within

An incident without both timestamps of a metric (or whose end comes before its
start) is left out of that metric, and counted as left out: never as zero.
Means are reported to 0.1 s, rates to four decimal places; p90 is the
nearest-rank 90th percentile (the smallest value with at least 90% of values at
or below it).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from operator import attrgetter
from typing import Any

from incidentctl.domain.incident import IncidentState
from incidentctl.domain.policy import Config, SeverityPolicy
from incidentctl.domain.review import ACTION_STATUSES
from incidentctl.domain.review_state import review_due, review_on_time
from incidentctl.domain.timeparse import iso


@dataclass(frozen=True)
class MetricDef:
    name: str
    start: str
    end: str
    meaning: str
    target_key: str


METRICS: tuple[MetricDef, ...] = (
    MetricDef("MTTD", "detected", "declared", "mean time to detect", "detect_within"),
    MetricDef("MTTA", "declared", "acknowledged", "mean time to acknowledge", "ack_within"),
    MetricDef("MTTI", "declared", "identified", "mean time to identify", "identify_within"),
    MetricDef("MTTM", "identified", "mitigated", "mean time to mitigate", "mitigate_within"),
    MetricDef("MTTR", "declared", "resolved", "mean time to resolve", "resolve_within"),
)


# a metric's start and end moments, as IncidentState fields
MOMENT_FIELDS = {
    "detected": "detected_at",
    "declared": "declared_at",
    "acknowledged": "acknowledged_at",
    "identified": "identified_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
}


def interval(state: IncidentState, metric: MetricDef) -> timedelta | None:
    """The metric's duration for one incident, or None when it cannot be measured."""
    start = getattr(state, MOMENT_FIELDS[metric.start])
    end = getattr(state, MOMENT_FIELDS[metric.end])
    if start is None or end is None or end < start:
        return None
    return end - start


def _intervals(states: list[IncidentState], metric: MetricDef) -> list[timedelta | None]:
    """`interval(s, metric)` for each state, with the fields looked up once."""
    starts = attrgetter(MOMENT_FIELDS[metric.start])
    ends = attrgetter(MOMENT_FIELDS[metric.end])
    out: list[timedelta | None] = []
    for s in states:
        start, end = starts(s), ends(s)
        out.append(None if start is None or end is None or end < start else end - start)
    return out


def target(metric: MetricDef, policy: SeverityPolicy | None) -> timedelta | None:
    if policy is None:
        return None
    return getattr(policy, metric.target_key)


def seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 1)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(sorted_values: list[float]) -> float:
    """statistics.median, without sorting again what is sorted."""
    mid = len(sorted_values) // 2
    if len(sorted_values) % 2:
        return sorted_values[mid]
    return (sorted_values[mid - 1] + sorted_values[mid]) / 2


def nearest_rank(sorted_values: list[float], percent: float) -> float:
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class IncidentMetric:
    """One metric for one incident (the review's metrics block)."""

    metric: MetricDef
    value: timedelta | None
    target: timedelta | None

    @property
    def passed(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value <= self.target


def incident_metrics(state: IncidentState, policy: SeverityPolicy | None) -> list[IncidentMetric]:
    return [IncidentMetric(m, interval(state, m), target(m, policy)) for m in METRICS]


@dataclass(frozen=True)
class Stats:
    count: int
    left_out: int
    mean: float | None  # seconds
    median: float | None
    p90: float | None

    @staticmethod
    def of(values: list[timedelta], left_out: int) -> Stats:
        if not values:
            return Stats(0, left_out, None, None, None)
        secs = sorted(v.total_seconds() for v in values)
        return Stats(
            count=len(secs),
            left_out=left_out,
            mean=round(sum(secs) / len(secs), 1),
            median=round(_median(secs), 1),
            p90=round(nearest_rank(secs, 90), 1),
        )


@dataclass(frozen=True)
class MetricResult:
    metric: MetricDef
    severity: str  # a severity name, or "" for all severities together
    stats: Stats
    target: timedelta | None = None
    within_target: int | None = None  # incidents at or under the target

    @property
    def passed(self) -> bool | None:
        """The mean against the target: at or under it passes."""
        if self.target is None or self.stats.mean is None:
            return None
        return self.stats.mean <= self.target.total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.stats.count,
            "left_out": self.stats.left_out,
            "mean_seconds": self.stats.mean,
            "median_seconds": self.stats.median,
            "p90_seconds": self.stats.p90,
            "target_seconds": seconds(self.target),
            "within_target": self.within_target,
            "pass": self.passed,
        }


def _result(
    metric: MetricDef, severity: str, intervals: list[timedelta | None], goal: timedelta | None
) -> MetricResult:
    values = [d for d in intervals if d is not None]
    within = sum(1 for v in values if v <= goal) if goal is not None else None
    return MetricResult(
        metric, severity, Stats.of(values, len(intervals) - len(values)), goal, within
    )


@dataclass(frozen=True)
class Period:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    severities: tuple[str, ...] = ()

    def contains(self, state: IncidentState) -> bool:
        if self.since is not None and state.declared_at < self.since:
            return False
        if self.until is not None and state.declared_at >= self.until:
            return False
        return not self.severities or state.severity in self.severities


@dataclass(frozen=True)
class SeverityCount:
    severity: str
    total: int
    open: int
    resolved: int


@dataclass(frozen=True)
class MonthMttr:
    month: str  # YYYY-MM of the declaration, in the team's time zone
    incidents: int
    stats: Stats


@dataclass(frozen=True)
class ActionSummary:
    total: int
    by_status: dict[str, int]
    overdue: int

    @property
    def completion_rate(self) -> float | None:
        """Done among the actions that are meant to be done (wont-do are not)."""
        return rate(self.by_status.get("done", 0), self.total - self.by_status.get("wont-do", 0))


@dataclass(frozen=True)
class ReviewSummary:
    severities: list[str]  # the severities whose policy requires a review
    required: int  # resolved incidents of those severities
    completed: int
    due: int  # required reviews held, or past their deadline
    on_time: int
    target: float | None

    @property
    def completion_rate(self) -> float | None:
        return rate(self.completed, self.required)

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.on_time, self.due)

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.completion_rate is None:
            return None
        return self.completion_rate >= self.target


@dataclass(frozen=True)
class Repeat:
    incident: str
    earlier: str
    match: str  # "category deploy" or "service api"


@dataclass(frozen=True)
class RecurrenceSummary:
    window: timedelta | None  # None with `counted`: the whole history
    incidents: int
    repeats: list[Repeat]
    target: float | None
    rule: str = "category-or-service"
    counted: bool = True

    @property
    def rule_text(self) -> str:
        return REPEAT_RULES[self.rule][0]

    @property
    def rate(self) -> float | None:
        if not self.counted:
            return None
        return rate(len(self.repeats), self.incidents)

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.rate is None:
            return None
        return self.rate <= self.target


# -- communication metrics (White Room: Metrics & KPIs, Communication Metrics) ----------


@dataclass(frozen=True)
class CommsCheck:
    """One communication target for one incident: `value` is what was measured (None:
    the update was never sent), `passed` None when the target does not apply yet."""

    incident: str
    value: timedelta | None
    target: timedelta
    passed: bool

    @property
    def miss(self) -> timedelta | None:
        """How far past the target; None for an update never sent."""
        if self.passed:
            return timedelta(0)
        return None if self.value is None else self.value - self.target


@dataclass(frozen=True)
class CommsMetric:
    name: str  # initial, regular, final
    meaning: str
    target_key: str
    checks: list[CommsCheck]

    @property
    def met(self) -> int:
        return sum(1 for c in self.checks if c.passed)

    @property
    def share(self) -> float | None:
        return rate(self.met, len(self.checks))

    @property
    def worst(self) -> CommsCheck | None:
        """The worst miss: an update never sent, else the longest overshoot."""
        missed = [c for c in self.checks if not c.passed]
        if not missed:
            return None
        never = [c for c in missed if c.value is None]
        if never:
            return never[0]
        return max(missed, key=lambda c: c.miss or timedelta(0))

    def to_dict(self) -> dict[str, Any]:
        worst = self.worst
        return {
            "meaning": self.meaning,
            "target_key": self.target_key,
            "incidents": len(self.checks),
            "met": self.met,
            "share": self.share,
            "worst_miss": None
            if worst is None
            else {
                "id": worst.incident,
                "seconds": seconds(worst.miss),
                "measured_seconds": seconds(worst.value),
                "target_seconds": seconds(worst.target),
                "never_sent": worst.value is None,
            },
        }


COMMS_METRICS: tuple[tuple[str, str, str], ...] = (
    ("initial", "declared -> first update sent", "initial_update_within"),
    ("regular", "longest gap between updates while open", "update_every"),
    ("final", "resolved -> first update sent after it", "final_update_within"),
)


def _sent_times(state: IncidentState) -> list[datetime]:
    return sorted(c.at for c in state.communications)


def _initial(
    state: IncidentState, target: timedelta, now: datetime, sent_times: list[datetime]
) -> CommsCheck | None:
    sent = [t for t in sent_times if t >= state.declared_at]
    if sent:
        value = sent[0] - state.declared_at
        return CommsCheck(state.human_id, value, target, value <= target)
    if now - state.declared_at <= target:
        return None  # not due yet
    return CommsCheck(state.human_id, None, target, False)


def _regular(
    state: IncidentState, cadence: timedelta, now: datetime, sent_times: list[datetime]
) -> CommsCheck | None:
    """The longest silence while open: declaration to the first update, between updates,
    and the last update to resolution (or to now)."""
    end = state.resolved_at or now
    marks = [state.declared_at, *(t for t in sent_times if state.declared_at < t < end)]
    marks.append(end)
    gap = max((b - a for a, b in pairwise(marks)), default=timedelta(0))
    if state.is_open and gap <= cadence and end - state.declared_at <= cadence:
        return None  # too young to have needed an update
    return CommsCheck(state.human_id, gap, cadence, gap <= cadence)


def _final(
    state: IncidentState, target: timedelta, now: datetime, sent_times: list[datetime]
) -> CommsCheck | None:
    if state.resolved_at is None:
        return None
    after = [t for t in sent_times if t >= state.resolved_at]
    if after:
        value = after[0] - state.resolved_at
        return CommsCheck(state.human_id, value, target, value <= target)
    if now - state.resolved_at <= target:
        return None
    return CommsCheck(state.human_id, None, target, False)


def _comms_metrics(states: list[IncidentState], config: Config, now: datetime) -> list[CommsMetric]:
    measures = {"initial": _initial, "regular": _regular, "final": _final}
    sent: dict[int, list[datetime]] = {}  # id(state) -> its send times, sorted once
    out = []
    for name, meaning, key in COMMS_METRICS:
        checks = []
        for s in states:
            policy = config.severity.get(s.severity)
            goal = getattr(policy, key, None) if policy is not None else None
            if goal is None:
                continue
            times = sent.get(id(s))
            if times is None:
                times = sent[id(s)] = _sent_times(s)
            check = measures[name](s, goal, now, times)
            if check is not None:
                checks.append(check)
        out.append(CommsMetric(name, meaning, key, checks))
    return out


@dataclass
class MetricsReport:
    period: Period
    as_of: datetime
    severities: list[str]  # those with incidents in the report, in policy order
    counts: list[SeverityCount]
    results: dict[str, list[MetricResult]]  # metric name -> [all, then per severity]
    months: list[MonthMttr]
    root_causes: list[tuple[str, int]]  # (category, count), most common first
    uncategorised: int
    actions: ActionSummary
    reviews: ReviewSummary
    recurrence: RecurrenceSummary
    incident_ids: list[str] = field(default_factory=list)
    communication: list[CommsMetric] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.counts)

    def to_dict(self) -> dict[str, Any]:
        """The `metrics --json` shape (documented in docs/review.md)."""
        return {
            "period": {
                "since": iso(self.period.since),
                "until": iso(self.period.until),
                "severities": list(self.period.severities),
                "as_of": iso(self.as_of),
            },
            "incidents": {
                "total": self.total,
                "open": sum(c.open for c in self.counts),
                "resolved": sum(c.resolved for c in self.counts),
                "by_severity": {
                    c.severity: {"total": c.total, "open": c.open, "resolved": c.resolved}
                    for c in self.counts
                },
                "ids": list(self.incident_ids),
            },
            "metrics": {
                name: {
                    "from": rows[0].metric.start,
                    "to": rows[0].metric.end,
                    "all": rows[0].to_dict(),
                    "by_severity": {r.severity: r.to_dict() for r in rows[1:]},
                }
                for name, rows in self.results.items()
            },
            "mttr_by_month": [
                {
                    "month": m.month,
                    "incidents": m.incidents,
                    "count": m.stats.count,
                    "left_out": m.stats.left_out,
                    "mean_seconds": m.stats.mean,
                }
                for m in self.months
            ],
            "root_causes": {
                "categories": [{"category": c, "count": n} for c, n in self.root_causes],
                "uncategorised": self.uncategorised,
            },
            "actions": {
                "total": self.actions.total,
                "by_status": dict(self.actions.by_status),
                "completion_rate": self.actions.completion_rate,
                "overdue": self.actions.overdue,
            },
            "reviews": {
                "severities": list(self.reviews.severities),
                "required": self.reviews.required,
                "completed": self.reviews.completed,
                "completion_rate": self.reviews.completion_rate,
                "target": self.reviews.target,
                "pass": self.reviews.passed,
                "due": self.reviews.due,
                "on_time": self.reviews.on_time,
                "on_time_rate": self.reviews.on_time_rate,
            },
            "communication": {m.name: m.to_dict() for m in self.communication},
            "recurrence": {
                "rule": self.recurrence.rule,
                "rule_text": self.recurrence.rule_text,
                "counted": self.recurrence.counted,
                "window_seconds": seconds(self.recurrence.window),
                "incidents": self.recurrence.incidents,
                "repeats": len(self.recurrence.repeats),
                "rate": self.recurrence.rate,
                "target": self.recurrence.target,
                "pass": self.recurrence.passed,
                "repeat_incidents": [
                    {"id": r.incident, "earlier": r.earlier, "match": r.match}
                    for r in self.recurrence.repeats
                ],
            },
        }


def _ordered(states: list[IncidentState]) -> list[IncidentState]:
    return sorted(states, key=lambda s: (s.declared_at, s.uid))


def severity_order(config: Config, states: list[IncidentState]) -> list[str]:
    present = {s.severity for s in states}
    known = [name for name in config.severity if name in present]
    return known + sorted(present - set(known))


def _months(
    states: list[IncidentState], zone: tzinfo, mttr: list[timedelta | None] | None = None
) -> list[MonthMttr]:
    """MTTR for each month (in the team's zone) from the first incident's to the last's.
    `mttr`: each state's MTTR interval, if already at hand (in the order of `states`)."""
    if not states:
        return []
    if mttr is None:
        mttr = [interval(s, METRICS[-1]) for s in states]
    by_month: dict[str, list[timedelta | None]] = {}
    names: dict[tuple[int, int], str] = {}  # (year, month) -> "YYYY-MM", formatted once
    for s, value in zip(states, mttr, strict=True):
        local = s.declared_at.astimezone(zone)
        name = names.get((local.year, local.month))
        if name is None:
            name = names[(local.year, local.month)] = local.strftime("%Y-%m")
        by_month.setdefault(name, []).append(value)
    first, last = min(by_month), max(by_month)
    year, month = int(first[:4]), int(first[5:])
    out = []
    while True:
        key = f"{year:04d}-{month:02d}"
        group = by_month.get(key, [])
        values = [d for d in group if d is not None]
        out.append(MonthMttr(key, len(group), Stats.of(values, len(group) - len(values))))
        if key == last:
            return out
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _root_causes(states: list[IncidentState]) -> tuple[list[tuple[str, int]], int]:
    counts: dict[str, int] = {}
    uncategorised = 0
    for s in states:
        category = s.category.strip().lower()
        if category:
            counts[category] = counts.get(category, 0) + 1
        else:
            uncategorised += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), uncategorised


def _actions(states: list[IncidentState], today: date) -> ActionSummary:
    by_status = dict.fromkeys(ACTION_STATUSES, 0)
    total = overdue = 0
    for s in states:
        for a in s.actions:
            total += 1
            by_status[a.status] = by_status.get(a.status, 0) + 1
            overdue += a.is_overdue(today)
    return ActionSummary(total, by_status, overdue)


def _reviews(states: list[IncidentState], config: Config, now: datetime) -> ReviewSummary:
    required_severities = [name for name, p in config.severity.items() if p.pir_required]
    required = completed = due = on_time = 0
    for s in states:
        policy = config.severity.get(s.severity)
        if policy is None or not policy.pir_required or s.resolved_at is None:
            continue
        required += 1
        completed += s.pir_completed_at is not None
        if review_due(s, policy, now):
            due += 1
            on_time += review_on_time(s, policy) is True
    return ReviewSummary(
        required_severities, required, completed, due, on_time, config.metrics.pir_completion_target
    )


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


class _Facts:
    """What the repeat rules compare of an incident, normalised once (a repeat check
    at ten thousand incidents compares each ~2 times, and normalised each side again)."""

    __slots__ = ("_cause", "category", "has_category", "service_set", "services", "state")

    def __init__(self, state: IncidentState) -> None:
        self.state = state
        self.category = _norm(state.category)
        self.has_category = bool(state.category.strip())
        self.services = [_norm(x) for x in state.services]
        self.service_set = set(self.services)
        self._cause: str | None = None

    @property
    def root_cause(self) -> str:
        """Normalised when a rule first asks: root causes are long texts."""
        if self._cause is None:
            self._cause = _norm(self.state.root_cause)
        return self._cause


def _same_category(earlier: _Facts, later: _Facts) -> str:
    category = later.category
    return f"category {category}" if category and category == earlier.category else ""


def _shared_service(earlier: _Facts, later: _Facts) -> str:
    for service in later.services:
        if service in earlier.service_set:
            return f"service {service}"
    return ""


def _same_root_cause(earlier: _Facts, later: _Facts) -> str:
    """WAOOAW's "same root cause": the same root-cause category (`resolve --category`),
    or, where neither has a category, the same root-cause text (case and spacing aside)."""
    by_category = _same_category(earlier, later)
    if by_category:
        return f"root cause: {by_category}"
    if later.has_category or earlier.has_category:
        return ""
    cause = later.root_cause
    return "root cause: same text" if cause and cause == earlier.root_cause else ""


def _same_incident(earlier: _Facts, later: _Facts) -> str:
    """White Room's "same incident": the same failure in the same place, a shared service
    and the same root cause (as `_same_root_cause` reads it)."""
    service = _shared_service(earlier, later)
    cause = _same_root_cause(earlier, later) if service else ""
    return f"same incident: {service}, {cause.removeprefix('root cause: ')}" if cause else ""


def _category_or_service(earlier: _Facts, later: _Facts) -> str:
    return _same_category(earlier, later) or _shared_service(earlier, later)


# [metrics] recurrence_rule -> (what a repeat is, in words; the matcher)
REPEAT_RULES: dict[str, tuple[str, Any]] = {
    "category-or-service": ("same category or service", _category_or_service),
    "root-cause": ("same root cause", _same_root_cause),
    "same-incident": ("same incident", _same_incident),  # a shared service, same root cause
}


def _match(earlier: IncidentState, later: IncidentState, rule: str = "category-or-service") -> str:
    return REPEAT_RULES[rule][1](_Facts(earlier), _Facts(later))


def _recurrence(
    states: list[IncidentState], history: list[IncidentState], config: Config
) -> RecurrenceSummary:
    settings = config.metrics
    rule = settings.recurrence_rule
    window = settings.recurrence_window
    counted = window is not None or settings.recurrence_all_time
    repeats: list[Repeat] = []
    if counted:
        matcher = REPEAT_RULES[rule][1]
        past = _ordered(history)
        keys = [(e.declared_at, e.uid) for e in past]
        facts: list[_Facts | None] = [None] * len(past)  # each built when first compared
        by_id = {id(e): i for i, e in enumerate(past)}
        for s in states:
            # the incidents declared before this one, most recent first (bisect: linear
            # scans of ten thousand incidents each made this quadratic)
            start = bisect.bisect_left(keys, (s.declared_at, s.uid))
            here = by_id.get(id(s))
            mine = (facts[here] if here is not None else None) or _Facts(s)
            if here is not None:
                facts[here] = mine
            for i in range(start - 1, -1, -1):
                earlier = past[i]
                if window is not None and s.declared_at - earlier.declared_at > window:
                    break
                theirs = facts[i]
                if theirs is None:
                    theirs = facts[i] = _Facts(earlier)
                match = matcher(theirs, mine)
                if match:
                    repeats.append(Repeat(s.human_id, earlier.human_id, match))
                    break
    return RecurrenceSummary(
        window, len(states), repeats, settings.recurrence_target, rule, counted
    )


def build_report(
    history: list[IncidentState],
    config: Config,
    now: datetime,
    period: Period,
    zone: tzinfo,
) -> MetricsReport:
    """Everything `incidentctl metrics` reports, for the incidents of `history` in `period`.

    `history` is every incident in the repo: repeats look back across all of it.
    """
    states = _ordered([s for s in history if period.contains(s)])
    severities = severity_order(config, states)
    by_severity = {name: [s for s in states if s.severity == name] for name in severities}
    counts = []
    for name, group in by_severity.items():
        still_open = sum(1 for s in group if s.is_open)
        counts.append(SeverityCount(name, len(group), still_open, len(group) - still_open))
    results: dict[str, list[MetricResult]] = {}
    measured: dict[str, list[timedelta | None]] = {}  # metric name -> each state's interval
    for metric in METRICS:
        # each incident's interval once, then grouped: the all-severities row, the
        # per-severity rows and (MTTR) the months share them
        intervals = measured[metric.name] = _intervals(states, metric)
        grouped: dict[str, list[timedelta | None]] = {name: [] for name in severities}
        for s, value in zip(states, intervals, strict=True):
            grouped[s.severity].append(value)
        rows = [_result(metric, "", intervals, None)]
        for name in severities:
            goal = target(metric, config.severity.get(name))
            rows.append(_result(metric, name, grouped[name], goal))
        results[metric.name] = rows
    categories, uncategorised = _root_causes(states)
    return MetricsReport(
        period=period,
        as_of=now,
        severities=severities,
        counts=counts,
        results=results,
        months=_months(states, zone, measured[METRICS[-1].name]),
        root_causes=categories,
        uncategorised=uncategorised,
        actions=_actions(states, now.astimezone(zone).date()),
        reviews=_reviews(states, config, now),
        recurrence=_recurrence(states, history, config),
        incident_ids=[s.human_id for s in states],
        communication=_comms_metrics(states, config, now),
    )
