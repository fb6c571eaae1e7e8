"""Drills (docs/drills.md): scenarios, starting and playing a drill, its --post, its
report, and the drills section of `metrics`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from incidentctl.errors import BadFileError, UsageError, choices_hint
from incidentctl.services.outcome import Outcome, Problem
from incidentctl.services.workspace import Workspace

if TYPE_CHECKING:
    from incidentctl.domain.drills import DrillScore, Inject, Scenario
    from incidentctl.domain.incident import IncidentState
    from incidentctl.domain.policy import Config
    from incidentctl.services.comms import Rendered
    from incidentctl.services.record import RecordResult
    from incidentctl.store.drills import ScenarioFile

INJECT_AUTHOR = "@drill"  # who the injects are recorded by


# -- scenarios ------------------------------------------------------------------------


def _parse(file: ScenarioFile) -> Scenario:
    import tomllib

    from pydantic import ValidationError

    from incidentctl.domain.drills import Scenario
    from incidentctl.domain.events import describe_validation_error
    from incidentctl.store.drills import read_text

    hint = f"fix {file.display} (docs/drills.md describes the format)"
    try:
        data = tomllib.loads(read_text(file))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFileError(file.display, f"cannot read: {exc}", hint=hint) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadFileError(file.display, f"not valid TOML: {exc}", hint=hint) from None
    data.setdefault("name", file.name)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise BadFileError(file.display, describe_validation_error(exc), hint=hint) from None


def scenario_catalog(ws: Workspace) -> dict[str, ScenarioFile]:
    from incidentctl.store.drills import scenario_files

    return scenario_files(ws.repo.root)


def load_scenario(ws: Workspace, name: str) -> Scenario:
    files = scenario_catalog(ws)
    wanted = name.strip().removesuffix(".toml")
    if wanted not in files:
        raise UsageError(
            f"no drill scenario {name!r}",
            hint=choices_hint("scenarios", list(files)) + " (see: incidentctl drill list)",
        )
    scenario = _parse(files[wanted])
    if ws.config.severity_name(scenario.severity) is None:
        raise BadFileError(
            files[wanted].display,
            f"severity {scenario.severity!r} is not in this repo's policy",
            hint=choices_hint("severities", ws.config.severities),
        )
    return scenario


@dataclass
class ScenarioListing(Outcome):
    scenarios: list[tuple[ScenarioFile, Scenario]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> list[dict[str, Any]]:
        return [
            {
                "name": s.name,
                "title": s.title,
                "severity": s.severity,
                "kind": s.kind,
                "runbook": s.runbook,
                "injects": len(s.injects),
                "origin": f.origin,
                "file": f.display,
            }
            for f, s in self.scenarios
        ]


def list_scenarios(ws: Workspace) -> ScenarioListing:
    out = ScenarioListing()
    for file in scenario_catalog(ws).values():
        try:
            out.scenarios.append((file, _parse(file)))
        except BadFileError as exc:
            out.problems.append(Problem.of(exc))
    return out


# -- starting and playing -------------------------------------------------------------


def start_drill(
    ws: Workspace,
    scenario: Scenario,
    *,
    speed: float | None = None,
    commander: str | None = None,
    by: str | None = None,
    at: str | None = None,
) -> RecordResult:
    """Declare the scenario's incident as a drill."""
    from incidentctl.services.incidents import Declaration, declare

    return declare(
        ws,
        Declaration(
            title=scenario.title,
            severity=scenario.severity,
            services=list(scenario.services),
            impact=scenario.impact,
            commander=commander,
            at=at,
            by=by,
            runbook=scenario.runbook,
            category=scenario.category,
            customers_affected=scenario.customers_affected,
            drill=True,
            drill_kind=scenario.kind,
            scenario=scenario.name,
            drill_speed=speed,
        ),
    )


def check_speed(speed: float) -> float:
    if not speed > 0 or speed > 10_000:
        raise UsageError(
            f"--speed {speed:g}: must be above 0 and at most 10000", hint="e.g. --speed 10"
        )
    return speed


def inject_text(inject: Inject) -> str:
    return f"[{inject.label}] {inject.text}"


def play(
    ws: Workspace,
    ref: str,
    scenario: Scenario,
    speed: float,
    on_inject: Callable[[Inject, RecordResult], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Play the scenario's injects onto the drill `ref`, each at its time divided by
    `speed` after the start, as a note of kind `inject`; `on_inject` hears each one as
    it is recorded. Returns how many were played (Ctrl-C stops it between injects)."""
    from incidentctl.services.incidents import note

    started = clock()
    played = 0
    for inject in scenario.timed:
        wait = inject.offset.total_seconds() / speed - (clock() - started)
        if wait > 0:
            sleep(wait)
        result = note(ws, ref, inject_text(inject), "inject", by=INJECT_AUTHOR, at=None)
        played += 1
        on_inject(inject, result)
    return played


# -- posting ----------------------------------------------------------------------------


@dataclass
class DrillPost:
    note: str
    recorded: RecordResult | None = None


def post_drill(
    ws: Workspace,
    rendered: Rendered,
    render_args: dict[str, Any],
    *,
    record: bool,
    by: str | None,
) -> DrillPost:
    """A drill's --post: to [drills] webhook, never to the team's channel; with none
    configured, not posted at all."""
    settings = ws.config.drills
    if not settings.webhook:
        return DrillPost(
            f"{rendered.incident} is a drill: not posted ([drills] webhook is not set; "
            "a drill never posts to the incident channel)"
        )
    from incidentctl.adapters.webhook import PostFailed, post_json
    from incidentctl.errors import IncidentctlError
    from incidentctl.services.comms import for_slack, record_communication, slack_payload

    slack = for_slack(ws, rendered, rendered.uid, **render_args)
    try:
        post_json(
            settings.webhook, slack_payload(slack), ws.config.comms.webhook_timeout.total_seconds()
        )
    except PostFailed as exc:
        raise IncidentctlError(
            f"posting the drill's {rendered.template} to the drill webhook failed ({exc})",
            hint="a drill message is not queued; post it again if it matters",
        ) from None
    where = settings.channel or "the drill webhook"
    recorded = None
    if record:
        recorded = record_communication(
            ws, rendered.uid, slack, channel=where, via="drill-webhook", by=by
        )
    return DrillPost(f"posted the drill's {rendered.template} to {where}", recorded)


# -- the report -----------------------------------------------------------------------


def _scenario_of(ws: Workspace, state: IncidentState) -> Scenario | None:
    if not state.scenario:
        return None
    try:
        return load_scenario(ws, state.scenario)
    except (UsageError, BadFileError):
        return None


def score(
    state: IncidentState, config: Config, now: datetime, scenario: Scenario | None, runbook: Any
) -> DrillScore:
    """Score one drill in scenario time against the scenario's targets and the policy."""
    from incidentctl.domain import drills as dr
    from incidentctl.domain.clocks import incident_clocks
    from incidentctl.domain.compliance import outcomes
    from incidentctl.domain.events import NoteAdded
    from incidentctl.domain.policy import SeverityPolicy
    from incidentctl.domain.state import UPDATE_EVENT_TYPES, fold

    speed = state.drill_speed or 1.0
    start = state.declared_at
    scaled = fold(dr.rescaled(state.timeline, start, speed))
    scaled_now = dr.scenario_time(now, start, speed)
    policy = config.severity.get(state.severity) or SeverityPolicy()
    targets = scenario.targets if scenario else dr.Targets()
    wanted = {
        "MTTA": targets.mtta or policy.ack_within,
        "MTTI": targets.mtti or policy.identify_within,
        "MTTM": targets.mttm or policy.mitigate_within,
        "MTTR": targets.mttr or policy.resolve_within,
    }
    clocks = {c.name: c for c in incident_clocks(scaled, policy, scaled_now)}
    metrics = []
    for name, target in wanted.items():
        c = clocks.get(name)
        label = {"MTTA": "acknowledge", "MTTI": "identify", "MTTM": "mitigate", "MTTR": "resolve"}
        if c is None or c.left_out:
            metrics.append(dr.MetricScore(name, label[name], None, target))
        else:
            metrics.append(dr.MetricScore(name, label[name], c.elapsed, target, c.running))
    updates = [
        e.at
        for e in scaled.timeline
        if e.type in UPDATE_EVENT_TYPES or (isinstance(e, NoteAdded) and e.kind == "update")
    ]
    every = targets.update_every or policy.update_every
    end = scaled.resolved_at or scaled_now
    spans = dr.gaps([scaled.declared_at, *[t for t in updates if t <= end]], end)
    cadence = dr.CadenceScore(
        every,
        len(updates),
        max(spans) if spans else None,
        sum(1 for g in spans if every is not None and g > every),
    )
    steps = _step_scores(scaled, runbook) if runbook is not None else []
    injects = sum(1 for e in state.timeline if isinstance(e, NoteAdded) and e.kind == "inject")
    return dr.DrillScore(
        incident=state.human_id,
        title=state.title,
        scenario=state.scenario,
        severity=state.severity,
        speed=speed,
        injects=injects,
        metrics=metrics,
        cadence=cadence,
        obligations=outcomes(scaled, config, scaled_now),
        steps=steps,
        runbook=runbook.name if runbook is not None else "",
    )


def _step_scores(state: IncidentState, runbook: Any) -> list[Any]:
    from incidentctl.domain.drills import StepScore
    from incidentctl.domain.runbook_progress import satisfied_steps, step_answers

    answers = step_answers(state, runbook.name)
    done = satisfied_steps(runbook, state, answers)
    out = []
    for phase in runbook.phases:
        for step in phase.steps:
            answer = answers.get(step.id)
            when, outcome = None, ""
            if answer is not None:
                when, outcome = answer.at, answer.outcome
            elif step.id in done:
                when, outcome = done[step.id].event.at, "done"
            after = when - state.declared_at if when is not None else None
            out.append(StepScore(phase.title, step.text, outcome, after, phase.timebox_delta))
    return out


@dataclass
class DrillReport(Outcome):
    score: DrillScore
    markdown: str
    problems: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        s = self.score
        met, judged = s.points

        def secs(value: timedelta | None) -> int | None:
            return None if value is None else int(value.total_seconds())

        return {
            "incident": s.incident,
            "scenario": s.scenario,
            "severity": s.severity,
            "speed": s.speed,
            "injects": s.injects,
            "score": {"met": met, "judged": judged},
            "metrics": [
                {
                    "name": m.name,
                    "seconds": secs(m.elapsed),
                    "target_seconds": secs(m.target),
                    "running": m.running,
                    "met": m.met,
                }
                for m in s.metrics
            ],
            "cadence": {
                "every_seconds": secs(s.cadence.every),
                "updates": s.cadence.updates,
                "longest_gap_seconds": secs(s.cadence.longest_gap),
                "late_gaps": s.cadence.late_gaps,
                "kept": s.cadence.kept,
            },
            "obligations": [
                {"kind": o.kind, "label": o.label, "met": o.met} for o in s.obligations
            ],
            "runbook": s.runbook,
            "steps": [
                {
                    "phase": st.phase,
                    "step": st.step,
                    "outcome": st.outcome,
                    "answered_after_seconds": secs(st.answered_after),
                    "timebox_seconds": secs(st.timebox),
                    "on_time": st.on_time,
                }
                for st in s.steps
            ],
            "markdown": self.markdown,
        }


def drill_report(ws: Workspace, ref: str) -> DrillReport:
    from incidentctl.services.lookup import find_incident

    found = find_incident(ws, ref)
    state = found.incident.state
    if not state.drill:
        raise UsageError(
            f"{state.human_id} is not a drill",
            hint="drill report scores drills: incidentctl drill start SCENARIO, or declare --drill",
        )
    scenario = _scenario_of(ws, state)
    problems: list[Problem] = []
    if state.scenario and scenario is None:
        problems.append(
            Problem(
                f"scenario {state.scenario!r} cannot be read: scored against the policy only",
                exit_code=0,
                warning=True,
            )
        )
    runbook = None
    name = (scenario.runbook if scenario else "") or state.runbook
    if name:
        from incidentctl.services.runbooks import load_runbook

        try:
            runbook = load_runbook(ws, name).runbook
        except (UsageError, BadFileError) as exc:
            problems.append(Problem(exc.message, exc.hint, exit_code=0, warning=True))
    result = score(state, ws.config, ws.now(), scenario, runbook)
    return DrillReport(result, report_markdown(result, scenario), problems)


def _span(value: timedelta | None) -> str:
    from incidentctl.domain.timeparse import compact_duration

    return "—" if value is None else compact_duration(value)


def _verdict(value: bool | None) -> str:
    return "—" if value is None else ("met" if value else "missed")


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def report_markdown(s: DrillScore, scenario: Scenario | None) -> str:
    """The drill's scorecard as Markdown, for the review to include."""
    met, judged = s.points
    lines = [f"## Drill report: {_cell(s.incident)}", ""]
    lines.append(
        f"- **Scenario**: {_cell(scenario.title if scenario else s.title)}"
        + (f" (`{s.scenario}`)" if s.scenario else "")
    )
    if scenario and scenario.source:
        lines.append(f"- **Source**: {_cell(scenario.source)}")
    lines.append(f"- **Severity**: {s.severity}")
    speed = f"{s.speed:g}x" if s.speed != 1 else "real time"
    lines.append(f"- **Played**: {speed}; times below are scenario time")
    lines.append(f"- **Injects played**: {s.injects}")
    lines.append(f"- **Score**: {met} of {judged} met")
    lines += [
        "",
        "### Response times",
        "",
        "| Metric | Time | Target | Result |",
        "|--------|------|--------|--------|",
    ]
    for m in s.metrics:
        shown = _span(m.elapsed) + (" (running)" if m.running else "")
        lines.append(f"| {m.name} | {shown} | {_span(m.target)} | {_verdict(m.met)} |")
    c = s.cadence
    lines += ["", "### Update cadence", ""]
    if c.every is None:
        lines.append(f"- No cadence set; {c.updates} updates")
    else:
        lines.append(
            f"- Every {_span(c.every)}: {c.updates} updates, longest gap {_span(c.longest_gap)}, "
            f"{c.late_gaps} late: {'kept' if c.kept else 'not kept'}"
        )
    lines += ["", "### Obligations", "", "| Obligation | Result |", "|------------|--------|"]
    for o in s.obligations:
        lines.append(
            f"| {_cell(o.label)} | {_verdict(o.met) if o.met is not None else 'pending'} |"
        )
    if s.steps:
        lines += [
            "",
            f"### Runbook steps ({_cell(s.runbook)})",
            "",
            "| Phase | Step | Answer | After | Time box | Result |",
            "|-------|------|--------|-------|----------|--------|",
        ]
        for st in s.steps:
            lines.append(
                f"| {_cell(st.phase)} | {_cell(st.step)} | {st.outcome or 'not answered'} | "
                f"{_span(st.answered_after)} | {_span(st.timebox)} | "
                f"{'on time' if st.on_time else ('late' if st.on_time is False else '—')} |"
            )
    return "\n".join(lines) + "\n"


# -- metrics ----------------------------------------------------------------------------


@dataclass
class CadenceCount:
    name: str
    kind: str
    every: str
    periods: list[tuple[str, int]]  # (period label, drills held), oldest first

    @property
    def kept(self) -> int:
        return sum(1 for _, n in self.periods if n > 0)


@dataclass
class DrillMetrics:
    total: int
    by_month: list[tuple[str, int]]
    by_quarter: list[tuple[str, int]]
    cadence: list[CadenceCount]
    trend: list[tuple[str, dict[str, float | None]]]  # month -> MTTx -> mean seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_month": [{"month": m, "drills": n} for m, n in self.by_month],
            "by_quarter": [{"quarter": q, "drills": n} for q, n in self.by_quarter],
            "cadence": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "every": c.every,
                    "periods": [{"period": p, "drills": n} for p, n in c.periods],
                    "kept": c.kept,
                    "of": len(c.periods),
                }
                for c in self.cadence
            ],
            "trend": [
                {"month": m, **{k.lower(): v for k, v in row.items()}} for m, row in self.trend
            ],
        }


def _period_label(moment: datetime, every: str) -> str:
    if every == "month":
        return f"{moment.year}-{moment.month:02d}"
    if every == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return str(moment.year)


def _periods(first: datetime, last: datetime, every: str) -> list[str]:
    out: list[str] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        label = _period_label(datetime(year, month, 1), every)
        if label not in out:
            out.append(label)
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return out


def drill_metrics(
    states: list[IncidentState], config: Config, now: datetime, since: datetime | None
) -> DrillMetrics:
    """Drills held per month and quarter, against each cadence of [drills] cadence,
    from the first drill (or `since`) to `now`; and the monthly mean drill MTTx in
    scenario time."""
    from incidentctl.domain.clocks import incident_clocks
    from incidentctl.domain.policy import SeverityPolicy

    zone = config.zone
    drills = sorted((s for s in states if s.drill), key=lambda s: s.declared_at)
    local = [(s, s.declared_at.astimezone(zone)) for s in drills]
    begin = since.astimezone(zone) if since else (local[0][1] if local else now.astimezone(zone))
    end = now.astimezone(zone)

    def count(every: str, kind: str = "") -> list[tuple[str, int]]:
        labels = _periods(begin, end, every) if begin <= end else []
        held = {label: 0 for label in labels}
        for s, moment in local:
            if kind and s.drill_kind != kind:
                continue
            label = _period_label(moment, every)
            if label in held:
                held[label] += 1
        return list(held.items())

    cadence = [
        CadenceCount(c.name, c.kind, c.every, count(c.every, c.kind)) for c in config.drills.cadence
    ]
    trend: list[tuple[str, dict[str, float | None]]] = []
    months: dict[str, list[IncidentState]] = {}
    for s, moment in local:
        months.setdefault(_period_label(moment, "month"), []).append(s)
    for month, group in months.items():
        values: dict[str, list[float]] = {"MTTA": [], "MTTI": [], "MTTM": [], "MTTR": []}
        for s in group:
            from incidentctl.domain import drills as dr
            from incidentctl.domain.state import fold

            speed = s.drill_speed or 1.0
            scaled = fold(dr.rescaled(s.timeline, s.declared_at, speed)) if s.timeline else s
            policy = config.severity.get(s.severity) or SeverityPolicy()
            for c in incident_clocks(scaled, policy, now):
                if c.name in values and not c.running and not c.left_out:
                    values[c.name].append(c.elapsed.total_seconds())
        trend.append((month, {k: (sum(v) / len(v) if v else None) for k, v in values.items()}))
    return DrillMetrics(len(drills), count("month"), count("quarter"), cadence, trend)
